-- JSON-RPC 2.0 with Content-Length framing over aid's Unix socket, on vim.loop (libuv) alone:
-- works on Neovim 0.7.2 (Debian 12) and later. One Client per connection; requests are matched
-- to their answers by id, notifications go to one handler per method.
local M = {}

-- vim.uv from 0.10 on; vim.loop on 0.7-0.9.
local uv = vim.uv or vim.loop

local Client = {}
Client.__index = Client

-- vim.json.encode({}) gives "[]"; every aid param object must be an object.
local function object(t)
  if t == nil or next(t) == nil then
    return vim.empty_dict()
  end
  return t
end
M.object = object

-- Turns vim.NIL (JSON null) into nil, deeply, so callers test plain Lua values.
local function denull(v)
  if v == vim.NIL then
    return nil
  end
  if type(v) == 'table' then
    for k, x in pairs(v) do
      v[k] = denull(x)
    end
  end
  return v
end

--- Connects to the socket at `path`; calls `cb(err, client)` on the main loop.
function M.connect(path, cb)
  local pipe = uv.new_pipe(false)
  pipe:connect(path, function(err)
    vim.schedule(function()
      if err then
        pipe:close()
        cb(err)
        return
      end
      local client = setmetatable({
        pipe = pipe,
        next_id = 0,
        pending = {},
        handlers = {},
        buffer = '',
        closed = false,
        on_close = nil,
      }, Client)
      client:start_reading()
      cb(nil, client)
    end)
  end)
end

function Client:start_reading()
  self.pipe:read_start(function(err, chunk)
    if err or not chunk then
      vim.schedule(function()
        self:close(err or 'the daemon closed the connection')
      end)
      return
    end
    self.buffer = self.buffer .. chunk
    local messages = {}
    while true do
      local header_end = self.buffer:find('\r\n\r\n', 1, true)
      if not header_end then
        break
      end
      local length = tonumber(self.buffer:sub(1, header_end):match('[Cc]ontent%-[Ll]ength: *(%d+)'))
      if not length then
        vim.schedule(function()
          self:close('bad framing from the daemon')
        end)
        return
      end
      local body_start = header_end + 4
      if #self.buffer < body_start + length - 1 then
        break
      end
      table.insert(messages, self.buffer:sub(body_start, body_start + length - 1))
      self.buffer = self.buffer:sub(body_start + length)
    end
    if #messages > 0 then
      vim.schedule(function()
        for _, body in ipairs(messages) do
          local ok, message = pcall(vim.json.decode, body)
          if ok and type(message) == 'table' then
            self:dispatch(denull(message))
          end
        end
      end)
    end
  end)
end

function Client:dispatch(message)
  if message.method and message.id == nil then
    local handler = self.handlers[message.method]
    if handler then
      handler(message.params or {})
    end
  elseif message.id ~= nil then
    local pending = self.pending[message.id]
    if pending then
      self.pending[message.id] = nil
      if pending.timer then
        pending.timer:stop()
        pending.timer:close()
      end
      if message.error then
        pending.cb(message.error)
      else
        pending.cb(nil, message.result)
      end
    end
  end
end

function Client:write(message)
  if self.closed then
    return false
  end
  local body = vim.json.encode(message)
  self.pipe:write('Content-Length: ' .. #body .. '\r\n\r\n' .. body)
  return true
end

--- Sends a request; `cb(err, result)` runs on the main loop. `timeout_ms` (optional) answers
--- an error of its own when the daemon does not in time. Returns the request's id.
function Client:request(method, params, cb, timeout_ms)
  self.next_id = self.next_id + 1
  local id = self.next_id
  local pending = { cb = cb }
  self.pending[id] = pending
  if timeout_ms then
    pending.timer = uv.new_timer()
    pending.timer:start(timeout_ms, 0, vim.schedule_wrap(function()
      if self.pending[id] == pending then
        self.pending[id] = nil
        pending.timer:close()
        cb({ code = -1, message = method .. ': no answer from aid within ' .. timeout_ms .. ' ms' })
      end
    end))
  end
  if not self:write({ jsonrpc = '2.0', id = id, method = method, params = object(params) }) then
    self.pending[id] = nil
    cb({ code = -1, message = 'not connected to aid' })
  end
  return id
end

function Client:notify(method, params)
  self:write({ jsonrpc = '2.0', method = method, params = object(params) })
end

--- The standard cancel: the daemon answers the request with -32800.
function Client:cancel(id)
  self:notify('$/cancelRequest', { id = id })
end

function Client:on_notification(method, handler)
  self.handlers[method] = handler
end

function Client:close(reason)
  if self.closed then
    return
  end
  self.closed = true
  pcall(function()
    self.pipe:read_stop()
    self.pipe:close()
  end)
  local pending = self.pending
  self.pending = {}
  for _, p in pairs(pending) do
    if p.timer then
      p.timer:stop()
      p.timer:close()
    end
    p.cb({ code = -1, message = 'connection to aid lost: ' .. tostring(reason) })
  end
  if self.on_close then
    self.on_close(reason)
  end
end

return M
