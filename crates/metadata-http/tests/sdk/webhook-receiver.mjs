// A webhook receiver written with the reference product's SDK, unmodified: every delivery is
// checked with `verifyWebhook` from `@clerk/backend/webhooks`. Used by metadata-webhooks' tests.
//
//   node webhook-receiver.mjs <port or 0> <signing secret> <log file> <fail rate 0..1> <seed> <delay ms>
//
// Prints `listening <port>` first. Each verified delivery is answered 500 with probability
// <fail rate> (a seeded generator) and not logged; otherwise it is appended to <log file> as a
// JSON line {"id", "type", "data_id", "object"} and answered 200 after <delay ms>. A delivery
// that fails verification is logged as {"verify_failed": true, "id"} and answered 400.
import http from "node:http";
import fs from "node:fs";
import { verifyWebhook } from "@clerk/backend/webhooks";

const [port, secret, logFile, failRate, seed, delay] = process.argv.slice(2);
let state = Number(seed) >>> 0 || 1;
const random = () => {
  // xorshift32
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state / 4294967296;
};
const log = (entry) => fs.appendFileSync(logFile, JSON.stringify(entry) + "\n");

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const request = new Request(`http://localhost${req.url}`, {
    method: req.method,
    headers: req.headers,
    body,
  });
  const id = req.headers["svix-id"];
  let evt;
  try {
    evt = await verifyWebhook(request, { signingSecret: secret });
  } catch (e) {
    log({ verify_failed: true, id });
    res.writeHead(400).end();
    return;
  }
  if (random() < Number(failRate)) {
    res.writeHead(500).end();
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, Number(delay)));
  log({ id, type: evt.type, data_id: evt.data.id, object: evt.object, deleted: evt.data.deleted === true });
  res.writeHead(200).end("ok");
});
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
