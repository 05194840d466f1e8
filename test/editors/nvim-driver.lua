-- Drives the shipped Neovim plugin headless against a real daemon (test/e2e/editors.test.ts):
-- each step waits for the plugin's callbacks with vim.wait, then everything seen is written as
-- JSON to $AID_TEST_OUT and Neovim quits.
local out = {}
local function wait(ms, cond)
  return vim.wait(ms, cond, 10)
end
local function finish()
  local f = assert(io.open(os.getenv('AID_TEST_OUT'), 'w'))
  f:write(vim.json.encode(out))
  f:close()
  vim.cmd('qa!')
end

local ok, err = pcall(function()
  local aid = require('aid')
  aid.setup({ aid_cmd = vim.json.decode(os.getenv('AID_CMD')), statusline_refresh_ms = 0 })
  out.socket = aid.socket_path()

  -- Down: the statusline is empty, never waits, never starts the daemon.
  out.statusline_down = aid.statusline()
  wait(300, function()
    return false
  end)
  out.statusline_down_after = aid.statusline()

  -- An ask starts the daemon (aid start), then streams.
  local seen = { deltas = {} }
  aid.ask({ prompt = 'hello from neovim', model = 'ollama/llama3.2' }, {
    on_start = function(s)
      seen.start = s
      seen.start_before_delta = #seen.deltas == 0
    end,
    on_delta = function(t)
      table.insert(seen.deltas, t)
    end,
    on_done = function(d)
      seen.done = d
    end,
    on_error = function(e)
      seen.error = e
    end,
  })
  wait(15000, function()
    return seen.done ~= nil or seen.error ~= nil
  end)
  out.ask = seen

  -- The statusline: today's spend and the tightest budget, from its cache.
  local set = {}
  aid.request('aid/budget/set', { name = 'daily', limitUsd = 5, period = 'day' }, function(e, r)
    set.err, set.result = e, r
  end)
  wait(5000, function()
    return set.err ~= nil or set.result ~= nil
  end)
  aid.statusline()
  wait(5000, function()
    return aid.statusline():find('daily', 1, true) ~= nil
  end)
  out.statusline_up = aid.statusline()

  -- Cancel after the first text: the daemon answers -32800, on_error says cancelled.
  local slow = { deltas = 0 }
  local handle
  handle = aid.ask({ prompt = 'a slow answer please', model = 'slow/llama3.2' }, {
    on_delta = function()
      slow.deltas = slow.deltas + 1
      if slow.deltas == 1 then
        handle:cancel()
      end
    end,
    on_done = function(d)
      slow.done = d
    end,
    on_error = function(e)
      slow.error = e
    end,
  })
  wait(15000, function()
    return slow.done ~= nil or slow.error ~= nil
  end)
  out.cancel = slow

  -- :AidAsk over a range of an unsaved buffer: the lines go as the selection.
  vim.cmd('filetype on')
  vim.cmd('edit ' .. os.getenv('AID_TEST_FILE'))
  vim.api.nvim_buf_set_lines(0, 0, 1, false, { 'local unsaved_edit = true' })
  vim.cmd('1,2AidAsk what do these lines do')
  local answer = vim.fn.bufnr('aid://answer')
  wait(15000, function()
    local lines = vim.api.nvim_buf_get_lines(answer, 0, -1, false)
    return table.concat(lines, '\n'):find('_ollama/', 1, true) ~= nil or table.concat(lines, '\n'):find('**error', 1, true) ~= nil
  end)
  out.answer_buffer = vim.api.nvim_buf_get_lines(answer, 0, -1, false)

  -- :AidChat keeps its session across messages.
  local ui = require('aid.ui')
  aid.config.model = 'ollama/llama3.2'
  vim.cmd('AidChat first message')
  wait(15000, function()
    return ui.chat_state.session ~= nil and vim.b[ui.chat_state.buf].aid_draft ~= nil
  end)
  local first = ui.chat_state.session
  vim.api.nvim_buf_set_lines(ui.chat_state.buf, -1, -1, false, { 'second message' })
  vim.api.nvim_set_current_buf(ui.chat_state.buf)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<CR>', true, false, true), 'x', false)
  wait(15000, function()
    local text = table.concat(vim.api.nvim_buf_get_lines(ui.chat_state.buf, 0, -1, false), '\n')
    local _, answers = text:gsub('\n## aid\n', '')
    return answers == 2 and vim.b[ui.chat_state.buf].aid_draft ~= nil
  end)
  out.chat = { first = first, second = ui.chat_state.session, text = vim.api.nvim_buf_get_lines(ui.chat_state.buf, 0, -1, false) }

  -- :AidModel offers chat models only.
  local offered
  vim.ui.select = function(items, opts, on_choice)
    offered = {}
    for _, m in ipairs(items) do
      table.insert(offered, opts.format_item(m))
    end
    on_choice(items[1])
  end
  vim.cmd('AidModel')
  wait(5000, function()
    return offered ~= nil
  end)
  out.models = offered
  out.picked = aid.config.model
end)
if not ok then
  out.lua_error = tostring(err)
end
finish()
