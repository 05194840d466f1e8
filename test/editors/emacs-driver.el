;;; emacs-driver.el --- drives editors/emacs/aid.el in batch Emacs against a real daemon  -*- lexical-binding: t; -*-
;; Run by test/e2e/editors.test.ts: everything seen is written as JSON to $AID_TEST_OUT.
(require 'aid)
(require 'json)

(defvar out nil)
(defun put-out (key value) (setq out (plist-put out key value)))
(defun wait-until (pred seconds)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall pred)))
(defun buffer-text (name) (with-current-buffer name (buffer-substring-no-properties (point-min) (point-max))))

(condition-case err
    (progn
      (setq aid-program (append (json-parse-string (getenv "AID_CMD") :array-type 'list) nil))
      (setq aid-mode-line-refresh 0)
      (put-out :socket (aid-socket-path))
      ;; Down: the mode line is empty and does not start the daemon.
      (put-out :modeLineDown (aid-mode-line-string))
      (put-out :daemonAfterModeLine (if (file-exists-p (aid-socket-path)) t :false))

      ;; aid-ask starts the daemon, streams into *aid*, runs aid-done-hook with the done plist.
      (let ((done nil))
        (add-hook 'aid-done-hook (lambda (d) (setq done d)))
        (put-out :askId (aid-ask "hello from emacs" "ollama/llama3.2"))
        (wait-until (lambda () done) 15)
        (put-out :done (list :type (plist-get done :type) :ref (plist-get done :ref) :sessionId (plist-get done :sessionId)))
        (put-out :answer (buffer-text "*aid*")))

      ;; The mode line: today's spend and the tightest budget.
      (aid-request :aid/budget/set (list :name "daily" :limitUsd 5 :period "day"))
      (setq aid--mode-line-at nil)
      (aid-mode-line-string)
      (wait-until (lambda () (string-match-p "daily" (aid-mode-line-string))) 5)
      (put-out :modeLineUp aid--mode-line-text)

      ;; aid-cancel after the first text: the answer says cancelled.
      (aid-ask "a slow answer please" "slow/llama3.2")
      (wait-until (lambda () (string-match-p "w0" (buffer-text "*aid*"))) 15)
      (put-out :cancelled (aid-cancel))
      (wait-until (lambda () (string-match-p "\\*\\*cancelled\\*\\*" (buffer-text "*aid*"))) 15)
      (put-out :cancelAnswer (buffer-text "*aid*"))

      ;; aid-ask-region: the region goes as the selection, with the unsaved buffer.
      (with-current-buffer (find-file-noselect (getenv "AID_TEST_FILE"))
        (goto-char (point-min))
        (insert ";; unsaved edit\n")
        (goto-char (point-min))
        (aid-ask-region (point-min) (line-end-position 2) "what do these lines do" "ollama/llama3.2"))
      (wait-until (lambda () (string-match-p "_ollama/" (buffer-text "*aid*"))) 15)
      (put-out :regionAnswer (buffer-text "*aid*"))

      ;; aid-chat keeps its session.
      (setq aid-model "ollama/llama3.2")
      (let ((sessions nil))
        (add-hook 'aid-done-hook (lambda (d) (push (plist-get d :sessionId) sessions)))
        (aid-chat "first message")
        (wait-until (lambda () sessions) 15)
        (aid-chat "second message")
        (wait-until (lambda () (= (length sessions) 2)) 15)
        (put-out :chatSessions (vconcat (reverse sessions)))
        (put-out :chat (buffer-text "*aid-chat*"))))
  (error (put-out :elispError (format "%S" err))))

(with-temp-file (getenv "AID_TEST_OUT") (insert (json-serialize out)))
(kill-emacs 0)
