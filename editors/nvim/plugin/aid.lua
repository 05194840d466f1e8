-- :AidAsk [prompt] (a range sends its lines as the selection), :AidChat [message], :AidCancel,
-- :AidModel. Nothing connects until a command or the statusline first asks.
if vim.g.loaded_aid then
  return
end
vim.g.loaded_aid = true

local function ui()
  return require('aid.ui')
end

vim.api.nvim_create_user_command('AidAsk', function(opts)
  if opts.range > 0 then
    ui().ask(opts.args, opts.line1, opts.line2)
  else
    ui().ask(opts.args)
  end
end, { nargs = '*', range = true, desc = 'aid: ask (with a range: about those lines)' })

vim.api.nvim_create_user_command('AidChat', function(opts)
  ui().chat(opts.args)
end, { nargs = '*', desc = 'aid: chat in a buffer that keeps its session' })

vim.api.nvim_create_user_command('AidCancel', function()
  local n = require('aid').cancel_all()
  if n == 0 then
    vim.notify('aid: nothing to cancel')
  end
end, { desc = 'aid: stop the running answers' })

vim.api.nvim_create_user_command('AidModel', function()
  ui().pick_model()
end, { desc = 'aid: pick the model' })
