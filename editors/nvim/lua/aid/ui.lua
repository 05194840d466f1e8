-- The commands' buffers: an answer buffer for :AidAsk, a chat buffer for :AidChat (Markdown,
-- streamed as it arrives, keeping its session), the model picker.
local aid = require('aid')

local M = {}

local function scratch(name)
  local buf = vim.fn.bufnr(name)
  if buf == -1 or not vim.api.nvim_buf_is_valid(buf) then
    buf = vim.api.nvim_create_buf(true, true)
    vim.api.nvim_buf_set_name(buf, name)
    vim.bo[buf].filetype = 'markdown'
    vim.bo[buf].bufhidden = 'hide'
  end
  if vim.fn.bufwinnr(buf) == -1 then
    vim.cmd('botright vsplit')
    vim.api.nvim_win_set_buf(0, buf)
    vim.wo.wrap = true
    vim.wo.linebreak = true
  end
  return buf
end

-- Appends text at the end of the buffer, continuing its last line.
local function append(buf, text)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local last = vim.api.nvim_buf_line_count(buf)
  local tail = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ''
  local lines = vim.split(tail .. text, '\n', { plain = true })
  vim.api.nvim_buf_set_lines(buf, last - 1, last, false, lines)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf then
      vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
    end
  end
end
M.append = append

local function summary(done)
  local cost = done.costUsd == nil and 'unpriced' or (done.costUsd == 0 and 'free' or aid.format_usd(done.costUsd))
  return string.format('_%s · %d in / %d out tokens · %s_', done.ref, done.usage.inputTokens, done.usage.outputTokens, cost)
end

local function stream_into(buf, handlers)
  return {
    on_start = function(start)
      if handlers.on_start then
        handlers.on_start(start)
      end
    end,
    on_delta = function(text)
      append(buf, text)
    end,
    on_notice = function(notice)
      append(buf, '\n> ' .. notice.kind .. ': ' .. notice.message .. '\n')
    end,
    on_done = function(done)
      append(buf, '\n\n' .. summary(done) .. '\n')
      if handlers.on_done then
        handlers.on_done(done)
      end
    end,
    on_error = function(err)
      append(buf, '\n\n**' .. (err.cancelled and 'cancelled' or ('error: ' .. tostring(err.message))) .. '**\n')
      if handlers.on_error then
        handlers.on_error(err)
      end
    end,
  }
end

--- :AidAsk [prompt], with a range: the lines go along as the selection.
function M.ask(prompt, line1, line2)
  local source = vim.api.nvim_get_current_buf()
  local editor = aid.editor_context(source, line1, line2)
  local project = aid.project_of(source)
  local function go(text)
    if not text or text == '' then
      return
    end
    local buf = scratch('aid://answer')
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, { '# ' .. text, '', '' })
    M.last = aid.ask({ prompt = text, editor = editor, project = project }, stream_into(buf, {}))
  end
  if prompt and prompt ~= '' then
    go(prompt)
  else
    vim.ui.input({ prompt = 'aid> ' }, go)
  end
end

local chat = { session = nil, buf = nil }
M.chat_state = chat

local function send_chat(text)
  local buf = chat.buf
  append(buf, '\n## You\n\n' .. text .. '\n\n## aid\n\n')
  vim.b[buf].aid_draft = nil
  M.last = aid.ask(
    { prompt = text, session_id = chat.session, project = aid.project_of(0) },
    stream_into(buf, {
      on_start = function(start)
        -- The session is known before the first text: a cancelled answer still continues it.
        chat.session = start.sessionId
      end,
      on_done = function(done)
        chat.session = done.sessionId
        append(buf, '\n')
        vim.api.nvim_buf_set_var(buf, 'aid_draft', vim.api.nvim_buf_line_count(buf))
      end,
      on_error = function()
        vim.api.nvim_buf_set_var(buf, 'aid_draft', vim.api.nvim_buf_line_count(buf))
      end,
    })
  )
end

--- :AidChat [message]: opens the chat buffer; a message is sent at once. In the buffer, type
--- below the last answer and press <CR> in normal mode to send.
function M.chat(message)
  if not chat.buf or not vim.api.nvim_buf_is_valid(chat.buf) then
    chat.buf = scratch('aid://chat')
    chat.session = nil
    vim.api.nvim_buf_set_lines(chat.buf, 0, -1, false, { '# aid chat', '', '' })
    vim.api.nvim_buf_set_var(chat.buf, 'aid_draft', 3)
    vim.api.nvim_buf_set_keymap(chat.buf, 'n', '<CR>', '<cmd>lua require("aid.ui").send_draft()<CR>', { noremap = true, silent = true })
  else
    scratch('aid://chat')
  end
  if message and message ~= '' then
    send_chat(message)
  end
end

--- Sends what was typed below the last answer.
function M.send_draft()
  local buf = chat.buf
  local ok, from = pcall(vim.api.nvim_buf_get_var, buf, 'aid_draft')
  if not ok or not from then
    return
  end
  local lines = vim.api.nvim_buf_get_lines(buf, from - 1, -1, false)
  local text = vim.trim(table.concat(lines, '\n'))
  if text == '' then
    return
  end
  vim.api.nvim_buf_set_lines(buf, from - 1, -1, false, { '' })
  send_chat(text)
end

--- :AidModel: pick the model of :AidAsk and :AidChat among the chat models of every host.
function M.pick_model(on_picked)
  aid.request('aid/models', {}, function(err, result)
    if err then
      return vim.notify('aid: ' .. tostring(err.message), vim.log.levels.ERROR)
    end
    local refs = {}
    for _, m in ipairs(result.models or {}) do
      if m.kind ~= 'embedding' then
        table.insert(refs, m)
      end
    end
    vim.ui.select(refs, {
      prompt = 'aid model',
      format_item = function(m)
        local price = type(m.price) == 'table' and (aid.format_usd(m.price.inputPerMTok) .. '/' .. aid.format_usd(m.price.outputPerMTok) .. ' per MTok') or m.price
        return m.ref .. (m.contextWindow and ('  ' .. m.contextWindow .. ' tokens') or '') .. '  ' .. tostring(price)
      end,
    }, function(choice)
      if choice then
        aid.config.model = choice.ref
        vim.notify('aid: model ' .. choice.ref)
      end
      if on_picked then
        on_picked(choice)
      end
    end)
  end)
end

return M
