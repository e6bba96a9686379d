-- GET one hot user.
wrk.headers["Authorization"] = "Bearer sk_load"
