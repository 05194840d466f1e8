;;; aid.el --- Ask models through the aid daemon  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (jsonrpc "1.0.14"))
;; Keywords: tools, convenience

;;; Commentary:

;; A client of the aid daemon's socket protocol (docs/protocol.md), on the built-in jsonrpc.el.
;; Public API (the contract):
;;   (aid-ask PROMPT &optional MODEL)  streams into *aid*, returns the request id
;;   aid-ask-region, aid-chat, aid-cancel, aid-mode-line-mode, aid-done-hook
;; The daemon is started with `aid start' when none answers on the socket.

;;; Code:

(require 'cl-lib)
(require 'jsonrpc)
(require 'seq)
(require 'subr-x)

(defgroup aid nil "Ask models through the aid daemon." :group 'tools :prefix "aid-")

(defcustom aid-socket nil
  "The daemon's socket.
nil: $AID_SOCKET, else $XDG_RUNTIME_DIR/aid/aid.sock,
else /tmp/aid-UID/aid.sock."
  :type '(choice (const :tag "Default" nil) file))

(defcustom aid-program "aid"
  "The `aid' program, run as `aid start' when no daemon answers.
A string, or a list of the program and its first arguments."
  :type '(choice string (repeat string)))

(defcustom aid-model nil
  "The model of `aid-ask' and `aid-chat' (HOST/MODEL); nil: the daemon's default."
  :type '(choice (const :tag "Default" nil) string))

(defcustom aid-request-timeout 10
  "Seconds a request other than an ask waits for its answer.
An ask runs as long as its answer streams."
  :type 'number)

(defcustom aid-mode-line-refresh 30
  "Seconds the mode line keeps a figure before asking the daemon again."
  :type 'number)

(defvar aid-done-hook nil
  "Functions run with the `done' plist when an ask finishes.
The plist has the fields of the done line of `aic ask --json'.")

(defconst aid--protocol-version 3)
(defconst aid--version "0.1.0")

(defvar aid--connection nil "The jsonrpc connection to the daemon, once handshaken.")
(defvar aid--streams (make-hash-table :test 'equal) "Stream token -> plist of handlers.")
(defvar aid--running (make-hash-table) "Request id -> stream token of the asks running.")
(defvar aid--token-count 0)
(defvar aid--chat-session nil "The session `aid-chat' continues.")
(defvar aid--mode-line-text "" "What the mode line shows: cached, refreshed in the background.")
(defvar aid--mode-line-at nil)
(defvar aid--mode-line-busy nil)

(defun aid-socket-path ()
  "The socket of the daemon, as the contract places it."
  (or aid-socket
      (let ((env (getenv "AID_SOCKET"))) (and env (not (string-empty-p env)) env))
      (let ((runtime (getenv "XDG_RUNTIME_DIR")))
        (and runtime (not (string-empty-p runtime)) (expand-file-name "aid/aid.sock" runtime)))
      (format "/tmp/aid-%d/aid.sock" (user-uid))))

(defun aid--notification (_conn method params)
  "Routes the daemon's notification METHOD with PARAMS to its ask."
  (let ((handlers (gethash (plist-get params :streamToken) aid--streams)))
    (pcase method
      ('aid/ask/start (when-let ((f (plist-get handlers :on-start))) (funcall f params)))
      ('aid/ask/delta (when-let ((f (plist-get handlers :on-delta))) (funcall f (plist-get params :text))))
      ('aid/ask/notice (when-let ((f (plist-get handlers :on-notice))) (funcall f params)))
      ('aid/log (message "aid: %s" (plist-get params :message)))
      ('aid/alert (setq aid--mode-line-at nil) (message "aid: %s" (plist-get params :message))))))

(defun aid--open (socket)
  "A network process on SOCKET, or nil when nothing answers there."
  (condition-case nil
      (make-network-process :name "aid" :family 'local :service socket
                            :coding 'utf-8-emacs-unix :noquery t)
    (file-error nil)))

(defun aid--start-daemon ()
  "Runs `aid start' (it returns once the socket answers)."
  (let* ((argv (append (if (listp aid-program) aid-program (list aid-program)) '("start")))
         (process-environment (cons (concat "AID_SOCKET=" (aid-socket-path)) process-environment))
         (code (condition-case err
                   (apply #'call-process (car argv) nil (get-buffer-create " *aid start*") nil (cdr argv))
                 (file-error (user-error "aid: cannot run %s: %s; install aid or set `aid-program'" (car argv) (error-message-string err))))))
    (unless (eq code 0)
      (user-error "aid: `%s' failed: %s" (string-join argv " ")
                  (with-current-buffer " *aid start*" (string-trim (buffer-string)))))))

(defun aid--connect (&optional no-start)
  "The handshaken connection, made now if needed.
Starts the daemon unless NO-START; then returns nil when none answers."
  (if (and aid--connection (jsonrpc-running-p aid--connection))
      aid--connection
    (let ((proc (aid--open (aid-socket-path))))
      (unless (or proc no-start)
        (aid--start-daemon)
        (setq proc (or (aid--open (aid-socket-path))
                       (user-error "aid: no daemon answers on %s" (aid-socket-path)))))
      (when proc
        (let ((conn (make-instance 'jsonrpc-process-connection
                                   :name "aid" :process proc
                                   :events-buffer-scrollback-size 0
                                   :notification-dispatcher #'aid--notification
                                   :on-shutdown (lambda (_c) (setq aid--connection nil aid--mode-line-text "")))))
          (jsonrpc-request conn :aid/handshake
                           (list :clientVersion aid--version :protocolVersion aid--protocol-version
                                 :client "emacs" :capabilities ["ask.stream" "ask.start" "ask.notice" "ask.editor"])
                           :timeout aid-request-timeout)
          (setq aid--connection conn))))))

(defun aid-request (method params &optional no-start)
  "Sends METHOD with PARAMS; waits `aid-request-timeout' seconds at most.
Starts the daemon unless NO-START."
  (when-let ((conn (aid--connect no-start)))
    (jsonrpc-request conn method (or params (make-hash-table)) :timeout aid-request-timeout)))

(defun aid--project ()
  "The git root of the current buffer's directory."
  (when-let ((dir (locate-dominating-file default-directory ".git")))
    (directory-file-name (expand-file-name dir))))

(defun aid--position (pos)
  "POS as the protocol's 0-based line and character."
  (save-excursion
    (goto-char pos)
    (list :line (1- (line-number-at-pos pos t)) :character (- pos (line-beginning-position)))))

(defun aid--editor-context (&optional start end)
  "The current buffer's file, language, unsaved text and point.
START..END, when given, is the selection."
  (let ((context (list :language (string-remove-suffix "-mode" (symbol-name major-mode))
                       :text (save-restriction (widen) (buffer-substring-no-properties (point-min) (point-max)))
                       :cursor (aid--position (point)))))
    (when buffer-file-name
      (setq context (plist-put context :file buffer-file-name)))
    (when (and start end)
      (setq context (plist-put context :selection
                               (list :start (aid--position start) :end (aid--position end)
                                     :text (buffer-substring-no-properties start end)))))
    context))

(cl-defun aid-ask-with (params &key on-start on-delta on-notice on-done on-error)
  "Sends an aid/ask with PARAMS, a plist of the protocol's fields.
Handlers: ON-START (plist :ref :sessionId), ON-DELTA (text),
ON-NOTICE, ON-DONE (the result plist), ON-ERROR (plist :code
:message :data).  Returns the request id."
  (let* ((conn (aid--connect))
         (token (format "emacs-%d-%d" (emacs-pid) (cl-incf aid--token-count)))
         (id nil))
    (puthash token (list :on-start on-start :on-delta on-delta :on-notice on-notice) aid--streams)
    (setq id (car (jsonrpc--async-request-1
                   conn :aid/ask (append (list :streamToken token) params)
                   :timeout nil
                   :success-fn (lambda (result)
                                 (remhash token aid--streams)
                                 (remhash id aid--running)
                                 (setq aid--mode-line-at nil)
                                 (let ((done (append (list :type "done") result)))
                                   (when on-done (funcall on-done done))
                                   (run-hook-with-args 'aid-done-hook done)))
                   :error-fn (lambda (err)
                               (remhash token aid--streams)
                               (remhash id aid--running)
                               (when on-error (funcall on-error err))))))
    (puthash id token aid--running)
    id))

(defun aid--output-buffer (name)
  (let ((buffer (get-buffer-create name)))
    (with-current-buffer buffer
      (unless (derived-mode-p 'markdown-mode 'text-mode)
        (if (fboundp 'markdown-mode) (markdown-mode) (text-mode))))
    (display-buffer buffer)
    buffer))

(defun aid--insert (buffer text)
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (save-excursion
        (goto-char (point-max))
        (insert text)))))

(defun aid--stream-handlers (buffer &optional on-start on-done)
  "Handlers writing an answer into BUFFER as it streams."
  (list :on-start on-start
        :on-delta (lambda (text) (aid--insert buffer text))
        :on-notice (lambda (n) (aid--insert buffer (format "\n> %s: %s\n" (plist-get n :kind) (plist-get n :message))))
        :on-done (lambda (done)
                   (let* ((usage (plist-get done :usage))
                          (cost (plist-get done :costUsd)))
                     (aid--insert buffer (format "\n\n_%s · %s in / %s out tokens · %s_\n"
                                                 (plist-get done :ref) (plist-get usage :inputTokens)
                                                 (plist-get usage :outputTokens)
                                                 (cond ((null cost) "unpriced") ((zerop cost) "free") (t (aid-format-usd cost))))))
                   (when on-done (funcall on-done done)))
        :on-error (lambda (err)
                    (aid--insert buffer (if (eq (plist-get err :code) -32800)
                                            "\n\n**cancelled**\n"
                                          (format "\n\n**error: %s**\n" (plist-get err :message)))))))

;;;###autoload
(defun aid-ask (prompt &optional model)
  "Asks PROMPT with MODEL (else `aid-model'), streaming into *aid*.
Returns the request id."
  (interactive (list (read-string "aid> ")))
  (let ((buffer (aid--output-buffer "*aid*"))
        (project (aid--project)))
    (with-current-buffer buffer
      (let ((inhibit-read-only t)) (erase-buffer) (insert "# " prompt "\n\n")))
    (apply #'aid-ask-with
           (append (list :prompt prompt)
                   (when (or model aid-model) (list :model (or model aid-model)))
                   (when project (list :project project)))
           (aid--stream-handlers buffer))))

;;;###autoload
(defun aid-ask-region (start end prompt &optional model)
  "Asks PROMPT about the region START..END; the buffer's unsaved text goes along."
  (interactive (list (region-beginning) (region-end) (read-string "aid (region)> ")))
  (let ((editor (aid--editor-context start end))
        (project (aid--project))
        (buffer (aid--output-buffer "*aid*")))
    (with-current-buffer buffer
      (let ((inhibit-read-only t)) (erase-buffer) (insert "# " prompt "\n\n")))
    (apply #'aid-ask-with
           (append (list :prompt prompt :editor editor)
                   (when (or model aid-model) (list :model (or model aid-model)))
                   (when project (list :project project)))
           (aid--stream-handlers buffer))))

;;;###autoload
(defun aid-chat (message)
  "Sends MESSAGE in the chat session of *aid-chat*.
The session is new the first time.  Returns the request id."
  (interactive (list (read-string "aid chat> ")))
  (let ((buffer (aid--output-buffer "*aid-chat*"))
        (project (aid--project)))
    (aid--insert buffer (format "\n## You\n\n%s\n\n## aid\n\n" message))
    (apply #'aid-ask-with
           (append (list :prompt message)
                   (when aid--chat-session (list :sessionId aid--chat-session))
                   (when aid-model (list :model aid-model))
                   (when project (list :project project)))
           (aid--stream-handlers buffer
                                 ;; Known before the first text: a cut answer still continues the session.
                                 (lambda (start) (setq aid--chat-session (plist-get start :sessionId)))
                                 (lambda (done) (setq aid--chat-session (plist-get done :sessionId)))))))

(defun aid-chat-new ()
  "Starts a new chat session at the next `aid-chat'."
  (interactive)
  (setq aid--chat-session nil))

;;;###autoload
(defun aid-cancel ()
  "Stops every running ask.
The daemon aborts the provider's call and answers -32800."
  (interactive)
  (let ((n 0))
    (when aid--connection
      (maphash (lambda (id _token)
                 (jsonrpc-notify aid--connection :$/cancelRequest (list :id id))
                 (cl-incf n))
               aid--running))
    (when (called-interactively-p 'interactive)
      (message (if (zerop n) "aid: nothing to cancel" "aid: cancelled")))
    n))

(defun aid-format-usd (value)
  "VALUE in dollars as aid shows them.
Whole cents from $1, else up to six decimals."
  (cond ((zerop value) "$0")
        ((>= (abs value) 1) (format "$%.2f" value))
        (t (let* ((fixed (replace-regexp-in-string "0+\\'" "" (format "%.6f" value)))
                  (decimals (- (length fixed) (1+ (string-match-p "\\." fixed)))))
             (if (< decimals 2) (format "$%.2f" value) (concat "$" fixed))))))

(defun aid--describe-spend (cost budgets)
  (let ((text (format "aid %s today" (aid-format-usd (or (plist-get cost :totalUsd) 0))))
        (tightest nil) (share nil))
    (seq-doseq (b budgets)
      (let ((s (if (> (plist-get b :limitUsd) 0) (/ (float (plist-get b :leftUsd)) (plist-get b :limitUsd)) 0)))
        (when (or (null share) (< s share)) (setq share s tightest b))))
    (if tightest
        (format "%s · %s %s left" text (plist-get tightest :name) (aid-format-usd (max 0 (plist-get tightest :leftUsd))))
      text)))

(defun aid--refresh-mode-line ()
  "Asks the daemon for today's spend and the budgets.
Never waits, never starts the daemon."
  (unless aid--mode-line-busy
    (setq aid--mode-line-busy t)
    (let ((conn (condition-case nil (aid--connect t) (error nil)))
          (done (lambda (text)
                  (setq aid--mode-line-text text aid--mode-line-at (float-time) aid--mode-line-busy nil)
                  (force-mode-line-update t))))
      (if (not conn)
          (funcall done "")
        (jsonrpc-async-request
         conn :aid/cost (list :since "today") :timeout aid-request-timeout
         :success-fn (lambda (cost)
                       (jsonrpc-async-request
                        conn :aid/budget/list (make-hash-table) :timeout aid-request-timeout
                        :success-fn (lambda (budgets) (funcall done (aid--describe-spend cost budgets)))
                        :error-fn (lambda (_e) (funcall done (aid--describe-spend cost [])))
                        :timeout-fn (lambda () (funcall done ""))))
         :error-fn (lambda (_e) (funcall done ""))
         :timeout-fn (lambda () (funcall done "")))))))

(defun aid-mode-line-string ()
  "Today's spend and the tightest budget, from a cache.
Never waits; \"\" while the daemon is down."
  (when (or (null aid--mode-line-at) (> (- (float-time) aid--mode-line-at) aid-mode-line-refresh))
    (aid--refresh-mode-line))
  aid--mode-line-text)

(defvar aid--mode-line-entry '(:eval (let ((s (aid-mode-line-string))) (if (string-empty-p s) "" (concat " " s)))))

;;;###autoload
(define-minor-mode aid-mode-line-mode
  "Shows aid's spend today and the tightest budget in the mode line."
  :global t
  (if aid-mode-line-mode
      (add-to-list 'global-mode-string aid--mode-line-entry t)
    (setq global-mode-string (delete aid--mode-line-entry global-mode-string))))

(provide 'aid)
;;; aid.el ends here
