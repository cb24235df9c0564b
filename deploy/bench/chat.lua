-- wrk script: POST /api/chat with a rotating set of realistic support messages.
--   wrk -t1 -c32 -d30s --latency -s deploy/bench/chat.lua http://127.0.0.1:8080/api/chat
-- Order ids are real ones of the default data set (DATA_SEED=42, ORDERS_COUNT=40000);
-- with other sizes they are "unknown order" answers, which is still a realistic path.
-- Each thread uses its own 64 session ids, so multi-turn state is exercised too.

local messages = {
  "hello",
  "Hi, I want to cancel my order",
  "C271962",
  "where is my order H642918?",
  "How long does delivery to Germany take?",
  "what payment methods do you accept",
  "I was charged twice for order A779736",
  "how do I get a refund for a damaged item",
  "can I change the shipping address of order E619709",
  "I forgot my password and can't log in",
  "do you have a newsletter? how do I unsubscribe",
  "I need an invoice for order G140323",
  "Is there a fee if I cancel order H886517?",
  "I want to speak to a human agent",
  "my parcel says delivered but I never got it",
  "thanks, that's all. bye!",
}

local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  counter = 0
end

request = function()
  counter = counter + 1
  -- 64 sessions take turns: request n goes to session n % 64 and carries that
  -- session's next message, so each session walks the script in order, one message
  -- at a time, as a shopper does (with at most 32 requests in flight per thread,
  -- a session's previous message has been answered before its next is sent).
  local msg = messages[(math.floor(counter / 64) % #messages) + 1]
  local session = string.format("wrk-%d-%d", thread_id, counter % 64)
  local body = string.format('{"session_id":"%s","message":"%s"}', session, msg)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
