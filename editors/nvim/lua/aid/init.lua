-- aid for Neovim: asks, chat and spend in the statusline, over aid's socket protocol
-- (docs/protocol.md; protocol/schema/aid-protocol.schema.json). Public API (the contract):
--   require('aid').setup(opts)
--   require('aid').ask({ prompt, model?, selection? }, { on_start?, on_delta, on_done, on_error }) -> handle, handle:cancel()
--   require('aid').statusline() -> string (cached, never blocks, '' when the daemon is down)
-- Commands (plugin/aid.lua): :AidAsk, :AidChat, :AidCancel, :AidModel.
local rpc = require('aid.rpc')

local M = {}

local PROTOCOL_VERSION = 3
M.version = '0.1.0'

local defaults = {
  -- The socket: $AID_SOCKET, else $XDG_RUNTIME_DIR/aid/aid.sock, else /tmp/aid-$UID/aid.sock.
  socket = nil,
  -- How to start the daemon when none answers: a program name or a list (program and arguments).
  aid_cmd = 'aid',
  -- The model of :AidAsk and :AidChat (nil: the daemon's default; :AidModel changes it).
  model = nil,
  -- How long the statusline keeps a figure before asking again.
  statusline_refresh_ms = 30000,
  -- Requests other than asks give up after this (an ask runs as long as its answer streams).
  request_timeout_ms = 10000,
  -- How long `aid start` may take.
  start_timeout_ms = 15000,
}

M.config = vim.deepcopy(defaults)

local state = {
  client = nil,
  connecting = nil, -- callbacks waiting for the connection being made
  streams = {}, -- streamToken -> handlers
  running = {}, -- request id -> handle, for :AidCancel
  tokens = 0,
  status = { text = '', at = nil, busy = false },
}

function M.socket_path()
  if M.config.socket and M.config.socket ~= '' then
    return M.config.socket
  end
  local env = os.getenv('AID_SOCKET')
  if env and env ~= '' then
    return env
  end
  local runtime = os.getenv('XDG_RUNTIME_DIR')
  if runtime and runtime ~= '' then
    return runtime .. '/aid/aid.sock'
  end
  return '/tmp/aid-' .. (vim.uv or vim.loop).getuid() .. '/aid.sock'
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  return M
end

local function route(client)
  client:on_notification('aid/ask/start', function(p)
    local h = state.streams[p.streamToken]
    if h and h.on_start then
      h.on_start({ ref = p.ref, sessionId = p.sessionId })
    end
  end)
  client:on_notification('aid/ask/delta', function(p)
    local h = state.streams[p.streamToken]
    if h and h.on_delta and p.text and p.text ~= '' then
      h.on_delta(p.text)
    end
  end)
  client:on_notification('aid/ask/notice', function(p)
    local h = state.streams[p.streamToken]
    if h and h.on_notice then
      h.on_notice(p)
    end
  end)
  client:on_notification('aid/log', function(p)
    vim.notify('aid: ' .. tostring(p.message), p.level == 'error' and vim.log.levels.ERROR or vim.log.levels.WARN)
  end)
  client:on_notification('aid/alert', function(p)
    vim.notify('aid: ' .. tostring(p.message), vim.log.levels.WARN)
    state.status.at = nil -- spend changed: the statusline asks again
  end)
end

local function handshake(client, cb)
  client:request('aid/handshake', {
    clientVersion = M.version,
    protocolVersion = PROTOCOL_VERSION,
    client = 'nvim',
    capabilities = { 'ask.stream', 'ask.start', 'ask.notice', 'ask.editor' },
  }, function(err, result)
    if err then
      client:close('handshake refused')
      cb(err)
      return
    end
    client.daemon = result
    cb(nil, client)
  end, M.config.request_timeout_ms)
end

local function start_daemon(cb)
  local cmd = M.config.aid_cmd
  local argv = type(cmd) == 'table' and vim.deepcopy(cmd) or { cmd }
  table.insert(argv, 'start')
  local output = {}
  local collect = function(_, data)
    for _, line in ipairs(data or {}) do
      if line ~= '' then
        table.insert(output, line)
      end
    end
  end
  local ok, job = pcall(vim.fn.jobstart, argv, {
    env = { AID_SOCKET = M.socket_path() },
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = collect,
    on_stderr = collect,
    on_exit = function(_, code)
      if code == 0 then
        cb(nil)
      else
        cb({ code = -1, message = '`' .. table.concat(argv, ' ') .. '` failed: ' .. table.concat(output, ' ') })
      end
    end,
  })
  if not ok or job <= 0 then
    cb({ code = -1, message = 'cannot run ' .. argv[1] .. ': install aid (npm install -g) or set aid_cmd in require("aid").setup()' })
  end
end

--- Calls cb(err, client) with a handshaken connection, starting the daemon when none answers
--- (unless `no_start`, as the statusline asks).
function M.connect(cb, no_start)
  if state.client and not state.client.closed then
    return cb(nil, state.client)
  end
  if state.connecting then
    table.insert(state.connecting.waiting, { cb = cb, no_start = no_start })
    return
  end
  local attempt_starts = not no_start
  state.connecting = { waiting = { { cb = cb, no_start = no_start } } }
  local function finish(err, client)
    local waiting = state.connecting and state.connecting.waiting or {}
    state.connecting = nil
    if client then
      state.client = client
      client.on_close = function()
        if state.client == client then
          state.client = nil
        end
        state.status.text = ''
      end
    end
    for _, w in ipairs(waiting) do
      if err and not attempt_starts and not w.no_start then
        -- Joined an attempt that would not start the daemon (the statusline's): try again, starting it.
        M.connect(w.cb, false)
      else
        w.cb(err, client)
      end
    end
  end
  local function attempt(started)
    rpc.connect(M.socket_path(), function(err, client)
      if not err then
        route(client)
        return handshake(client, finish)
      end
      if started or no_start then
        return finish({ code = -1, message = 'aid does not answer on ' .. M.socket_path() .. ' (' .. tostring(err) .. ')' })
      end
      start_daemon(function(start_err)
        if start_err then
          return finish(start_err)
        end
        attempt(true)
      end)
    end)
  end
  attempt(false)
end

--- A request other than an ask, with the configured timeout.
function M.request(method, params, cb)
  M.connect(function(err, client)
    if err then
      return cb(err)
    end
    client:request(method, params, cb, M.config.request_timeout_ms)
  end)
end

local Handle = {}
Handle.__index = Handle

--- Stops the ask: the daemon aborts the provider's call and answers -32800 (on_error gets
--- `{ cancelled = true, ... }`).
function Handle:cancel()
  if self.finished then
    return
  end
  self.cancelled = true
  if self.client and self.id then
    self.client:cancel(self.id)
  end
end

--- Asks a question. `req`: { prompt, model?, selection? (string), session_id?, new_session?,
--- editor? (the protocol's editor context), project? }. `handlers`: on_start({ ref, sessionId }),
--- on_delta(text), on_done(done), on_error(err), on_notice(notice). Returns a handle with :cancel().
function M.ask(req, handlers)
  handlers = handlers or {}
  local handle = setmetatable({ finished = false }, Handle)
  state.tokens = state.tokens + 1
  local token = 'nvim-' .. vim.fn.getpid() .. '-' .. state.tokens
  local params = {
    prompt = req.prompt,
    streamToken = token,
    model = req.model or M.config.model,
    sessionId = req.session_id,
    newSession = req.new_session,
    project = req.project,
    editor = req.editor,
  }
  if req.selection and not params.editor then
    local lines = vim.split(req.selection, '\n', { plain = true })
    params.editor = {
      selection = {
        start = { line = 0, character = 0 },
        ['end'] = { line = #lines - 1, character = #lines[#lines] },
        text = req.selection,
      },
    }
  end
  local function fail(err)
    handle.finished = true
    if handle.cancelled or err.code == -32800 then
      err.cancelled = true
    end
    if handlers.on_error then
      handlers.on_error(err)
    end
  end
  M.connect(function(err, client)
    if err then
      return fail(err)
    end
    if handle.cancelled then
      return fail({ code = -32800, message = 'request cancelled' })
    end
    state.streams[token] = handlers
    handle.client = client
    handle.id = client:request('aid/ask', params, function(ask_err, result)
      state.streams[token] = nil
      state.running[handle.id] = nil
      state.status.at = nil -- spend changed: the statusline asks again
      if ask_err then
        return fail(ask_err)
      end
      handle.finished = true
      result.type = 'done'
      if handlers.on_done then
        handlers.on_done(result)
      end
    end)
    state.running[handle.id] = handle
  end)
  return handle
end

--- Cancels every ask this Neovim has running; returns how many.
function M.cancel_all()
  local n = 0
  for _, handle in pairs(state.running) do
    handle:cancel()
    n = n + 1
  end
  return n
end

-- Dollars as aid shows them (protocol/money.ts): whole cents from $1, else up to six decimals.
function M.format_usd(v)
  if v == 0 then
    return '$0'
  end
  if math.abs(v) >= 1 then
    return string.format('$%.2f', v)
  end
  local fixed = string.format('%.6f', v):gsub('0+$', '')
  local decimals = #fixed - (fixed:find('.', 1, true) or #fixed)
  return decimals < 2 and string.format('$%.2f', v) or ('$' .. fixed)
end

local function describe(cost, budgets)
  local text = 'aid ' .. M.format_usd(cost.totalUsd or 0) .. ' today'
  local tightest
  for _, b in ipairs(budgets or {}) do
    local share = b.limitUsd > 0 and (b.leftUsd / b.limitUsd) or 0
    if not tightest or share < tightest.share then
      tightest = { share = share, budget = b }
    end
  end
  if tightest then
    text = text .. ' · ' .. tightest.budget.name .. ' ' .. M.format_usd(math.max(0, tightest.budget.leftUsd)) .. ' left'
  end
  return text
end

local function refresh_status()
  if state.status.busy then
    return
  end
  state.status.busy = true
  local function done(text)
    state.status = { text = text, at = (vim.uv or vim.loop).now(), busy = false }
  end
  M.connect(function(err, client)
    if err then
      return done('')
    end
    client:request('aid/cost', { since = 'today' }, function(cost_err, cost)
      if cost_err then
        return done('')
      end
      client:request('aid/budget/list', {}, function(_, budgets)
        done(describe(cost, budgets))
      end, M.config.request_timeout_ms)
    end, M.config.request_timeout_ms)
  end, true)
end

--- Today's spend and the tightest budget, from a cache refreshed in the background: never waits
--- on the daemon, never starts it, and is '' while it is down.
function M.statusline()
  local s = state.status
  if not s.busy and (s.at == nil or (vim.uv or vim.loop).now() - s.at > M.config.statusline_refresh_ms) then
    refresh_status()
  end
  return s.text
end

-- Editor context of the current buffer: its file, language, unsaved text and cursor, and the
-- lines line1..line2 as the selection when a range is given.
function M.editor_context(bufnr, line1, line2)
  bufnr = bufnr or 0
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local editor = {
    file = vim.api.nvim_buf_get_name(bufnr),
    language = vim.bo[bufnr].filetype,
    text = table.concat(lines, '\n'),
    cursor = { line = cursor[1] - 1, character = cursor[2] },
  }
  if editor.file == '' then
    editor.file = nil
  end
  if line1 and line2 then
    local selected = vim.api.nvim_buf_get_lines(bufnr, line1 - 1, line2, false)
    editor.selection = {
      start = { line = line1 - 1, character = 0 },
      ['end'] = { line = line2 - 1, character = #(selected[#selected] or '') },
      text = table.concat(selected, '\n'),
    }
  end
  return editor
end

-- The git root above the buffer's file (or the working directory): where project context comes from.
function M.project_of(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr or 0)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  local git = vim.fn.finddir('.git', dir .. ';')
  if git ~= '' then
    return vim.fn.fnamemodify(git, ':p:h:h')
  end
  -- A worktree's .git is a file.
  git = vim.fn.findfile('.git', dir .. ';')
  return git ~= '' and vim.fn.fnamemodify(git, ':p:h') or nil
end

return M
