-- wrk script for benchmarks/api.py: a bank's system calling the API with its token.
--   wrk ... -s benchmarks/api.lua URL -- MODE TOKEN LOAN_IDS PAID_ON TAG
-- MODE: read (GET loans/{id}/), post (POST loans/{id}/repayments/), list (GET
-- applications/) or mix (70% read, 20% list, 10% post); LOAN_IDS comma-separated, each
-- request takes one at random; a post books 1,000 rupiah dated PAID_ON with a new
-- Idempotency-Key (and reference) TAG-<thread>-<n>. done() prints one line, "RESULT" and
-- JSON: requests, seconds, p50/p99 in microseconds, posts sent, answers by status, errors.

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode, token, paid_on, tag = args[1], args[2], args[4], args[5]
  loans = {}
  for loan in string.gmatch(args[3], "%d+") do
    table.insert(loans, loan)
  end
  math.randomseed(thread_id * 7919 + os.time())
  posts = 0
  statuses = {}
  auth = { ["Authorization"] = "Token " .. token }
end

local function loan()
  return loans[math.random(#loans)]
end

local function read()
  return wrk.format("GET", "/api/v1/loans/" .. loan() .. "/", auth)
end

local function list()
  return wrk.format("GET", "/api/v1/applications/", auth)
end

local function post()
  posts = posts + 1
  local key = tag .. "-" .. thread_id .. "-" .. posts
  local headers = {
    ["Authorization"] = auth["Authorization"],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }
  local body = '{"amount": 1000, "paid_on": "' .. paid_on .. '", "channel": "transfer", "reference": "' .. key .. '"}'
  return wrk.format("POST", "/api/v1/loans/" .. loan() .. "/repayments/", headers, body)
end

function request()
  if mode == "read" then
    return read()
  elseif mode == "post" then
    return post()
  elseif mode == "list" then
    return list()
  end
  local pick = math.random()
  if pick < 0.7 then
    return read()
  elseif pick < 0.9 then
    return list()
  end
  return post()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent, counts = 0, {}
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("posts")
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local by_status = {}
  for status, n in pairs(counts) do
    table.insert(by_status, string.format('"%d": %d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_us": %d, "p99_us": %d, "max_us": %d, "posts_sent": %d, '
      .. '"statuses": {%s}, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max, sent,
    table.concat(by_status, ", "), errors.connect, errors.read, errors.write, errors.timeout
  ))
end
