// 政策助手 web chat: talks to /api/* (bot/web/app.py). No framework, no build step.
// Safety: a user's text is only ever set with textContent; the bot's HTML arrives already through
// the server's allow-list and is rebuilt here node by node from the same allow-list (no innerHTML).
"use strict";

(() => {
  const UI = {
    zh: {
      lang: "zh-Hans",
      title: "政策助手",
      subtitle: "衡政发〔2024〕4号 · 跨境电商支持措施",
      placeholder: "输入问题，或 /check 开始资格自测",
      label: "输入消息",
      send: "发送",
      log: "对话",
      commands: "命令",
      typing: "政策助手正在输入…",
      offline: "网络连接失败，请检查网络后重试。",
      failed: "请求失败，请稍后再试。",
      close: "关闭",
      download: "下载",
    },
    en: {
      lang: "en",
      title: "Policy Assistant",
      subtitle: "Hengzhengfa [2024] No. 4 · cross-border e-commerce support",
      placeholder: "Type a question, or /check to see what you qualify for",
      label: "Your message",
      send: "Send",
      log: "Conversation",
      commands: "Commands",
      typing: "The assistant is typing…",
      offline: "No connection. Please check your network and try again.",
      failed: "The request failed; please try again.",
      close: "Close",
      download: "Download",
    },
  };
  const TAGS = new Set(["B", "STRONG", "I", "EM", "U", "S", "CODE", "PRE", "A", "BR"]);
  const HEADERS = { "X-Requested-With": "policybot" };

  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const input = $("input");
  const form = $("composer");
  const notice = $("notice");
  const noticeText = $("notice-text");
  const commands = $("commands");
  const typingStatus = $("typing-status");

  const state = { rev: 0, lang: "zh", queue: Promise.resolve(), pending: 0, nodes: new Map() };
  let typing = null;
  let noticeTimer = 0;

  const ui = () => UI[state.lang] || UI.zh;

  async function call(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { ...HEADERS } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      showNotice(ui().offline, true);
      return null;
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok || data === null) {
      showNotice((data && data.message) || ui().failed, true);
      return null;
    }
    return data;
  }

  // One request at a time, in order: the bot sees the messages as they were typed.
  function enqueue(task) {
    state.pending += 1;
    setTyping(true);
    const run = state.queue.then(task).finally(() => {
      state.pending -= 1;
      if (state.pending === 0) setTyping(false);
    });
    state.queue = run.catch(() => undefined);
    return run;
  }

  function setTyping(on) {
    if (on && !typing) {
      typing = document.createElement("div");
      typing.className = "msg bot typing";
      typing.setAttribute("aria-hidden", "true");
      const bubble = document.createElement("div");
      bubble.className = "bubble";
      for (let i = 0; i < 3; i += 1) {
        const dot = document.createElement("span");
        dot.className = "dot";
        bubble.append(dot);
      }
      const label = document.createElement("span");
      label.className = "typing-label";
      label.textContent = ui().typing;
      bubble.append(label);
      typing.append(bubble);
      log.append(typing);
      typingStatus.textContent = ui().typing;
      scrollDown(true);
    } else if (!on && typing) {
      typing.remove();
      typing = null;
      typingStatus.textContent = "";
    }
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  }

  function scrollDown(force) {
    if (force || nearBottom()) log.scrollTop = log.scrollHeight;
  }

  function showNotice(text, alert) {
    window.clearTimeout(noticeTimer);
    noticeText.textContent = text;
    notice.classList.toggle("alert", Boolean(alert));
    notice.setAttribute("role", alert ? "alert" : "status");
    notice.hidden = false;
    noticeTimer = window.setTimeout(hideNotice, alert ? 9000 : 5000);
  }

  function hideNotice() {
    notice.hidden = true;
    noticeText.textContent = "";
  }

  // The bot's (already allowed) HTML, rebuilt from the allow-list: other elements keep only their text.
  function appendHtml(target, html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    copyNodes(doc.body, target);
  }

  function copyNodes(from, to) {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        to.append(document.createTextNode(node.nodeValue));
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (!TAGS.has(node.tagName)) {
          copyNodes(node, to);
          continue;
        }
        const element = document.createElement(node.tagName.toLowerCase());
        if (node.tagName === "A") {
          const href = safeUrl(node.getAttribute("href"));
          if (!href) {
            copyNodes(node, to);
            continue;
          }
          element.href = href;
          element.rel = "noopener noreferrer";
          element.target = "_blank";
        }
        copyNodes(node, element);
        to.append(element);
      }
    }
  }

  function safeUrl(href) {
    try {
      const url = new URL(href || "", window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function render(message) {
    const wrap = document.createElement("div");
    wrap.className = `msg ${message.from === "user" ? "user" : "bot"}`;
    wrap.dataset.id = String(message.id);
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    const content = document.createElement("div");
    content.className = "content";
    if (message.from === "user") {
      content.textContent = message.text; // never parsed: what the user typed is shown as typed
    } else {
      appendHtml(content, message.html || "");
    }
    if (content.childNodes.length) bubble.append(content);
    if (message.document) bubble.append(documentLink(message.document));
    if (message.buttons && message.buttons.length) bubble.append(keyboard(message));
    wrap.append(bubble);
    return wrap;
  }

  function documentLink(doc) {
    const link = document.createElement("a");
    link.className = "doc";
    link.href = doc.url;
    link.setAttribute("download", doc.name);
    const icon = document.createElement("span");
    icon.className = "doc-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "📄";
    const name = document.createElement("span");
    name.className = "doc-name";
    name.textContent = doc.name;
    const size = document.createElement("span");
    size.className = "doc-size";
    size.textContent = `${ui().download} · ${formatSize(doc.size)}`;
    link.append(icon, name, size);
    return link;
  }

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function keyboard(message) {
    const board = document.createElement("div");
    board.className = "keyboard";
    for (const row of message.buttons) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        if (button.url) {
          const href = safeUrl(button.url);
          if (!href) continue;
          const link = document.createElement("a");
          link.className = "key";
          link.href = href;
          link.rel = "noopener noreferrer";
          link.target = "_blank";
          link.textContent = button.text;
          line.append(link);
          continue;
        }
        const key = document.createElement("button");
        key.type = "button";
        key.className = "key";
        key.textContent = button.text;
        key.addEventListener("click", () => press(message.id, button.data, key));
        line.append(key);
      }
      board.append(line);
    }
    return board;
  }

  function upsert(message) {
    const old = state.nodes.get(message.id);
    if (message.deleted) {
      if (old) old.remove();
      state.nodes.delete(message.id);
      return;
    }
    const node = render(message);
    if (old) {
      old.replaceWith(node); // an edit: the message changes where it is
    } else {
      log.insertBefore(node, typing && typing.parentNode === log ? typing : null);
    }
    state.nodes.set(message.id, node);
  }

  function apply(data) {
    if (!data) return false;
    const follow = nearBottom();
    let added = false;
    if (data.reset) {
      for (const node of state.nodes.values()) node.remove();
      state.nodes.clear();
    }
    for (const message of data.messages) {
      if (!state.nodes.has(message.id) && !message.deleted) added = true;
      upsert(message);
    }
    state.rev = data.rev;
    setLanguage(data.lang, data.commands);
    if (data.notice && data.notice.text) showNotice(data.notice.text, data.notice.alert);
    // New messages, or an edit while the reader was at the end: show the end (an edit may have grown).
    if (added || follow) scrollDown(true);
    return true;
  }

  function setLanguage(lang, list) {
    const changed = lang !== state.lang || !commands.childElementCount;
    state.lang = UI[lang] ? lang : "zh";
    if (!changed) return;
    const words = ui();
    document.documentElement.lang = words.lang;
    document.title = `${words.title} · ${state.lang === "en" ? "Hengzhengfa [2024] No. 4" : "衡政发〔2024〕4号"}`;
    $("title").textContent = words.title;
    $("subtitle").textContent = words.subtitle;
    input.placeholder = words.placeholder;
    $("input-label").textContent = words.label;
    $("send").textContent = words.send;
    $("notice-close").setAttribute("aria-label", words.close);
    log.setAttribute("aria-label", words.log);
    commands.setAttribute("aria-label", words.commands);
    commands.replaceChildren();
    for (const item of list || []) {
      if (item.command === "/start") continue;
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.title = item.description;
      const name = document.createElement("span");
      name.className = "cmd";
      name.textContent = item.command;
      const description = document.createElement("span");
      description.className = "desc";
      description.textContent = item.description;
      chip.append(name, description);
      chip.addEventListener("click", () => say(item.command));
      commands.append(chip);
    }
  }

  function say(text) {
    const pending = document.createElement("div");
    pending.className = "msg user pending";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    const content = document.createElement("div");
    content.className = "content";
    content.textContent = text;
    bubble.append(content);
    pending.append(bubble);
    log.insertBefore(pending, typing && typing.parentNode === log ? typing : null);
    scrollDown(true);
    return enqueue(async () => {
      const data = await call("POST", "/api/send", { text, since: state.rev });
      pending.remove();
      if (!apply(data) && !input.value) input.value = text; // refused: give the text back
    });
  }

  function press(id, data, key) {
    const node = state.nodes.get(id);
    const keys = node ? [...node.querySelectorAll("button.key")] : [];
    const index = keys.indexOf(key);
    for (const other of keys) other.disabled = true;
    node?.setAttribute("aria-busy", "true");
    return enqueue(async () => {
      const reply = await call("POST", "/api/press", { message_id: id, data, since: state.rev });
      if (!apply(reply)) {
        for (const other of keys) other.disabled = false;
        node?.removeAttribute("aria-busy");
      }
      refocus(id, index);
    });
  }

  // From the keyboard: after a press, focus stays on the same button of a redrawn message
  // (checklists), or moves to the first button of the newest question.
  function refocus(id, index) {
    const active = document.activeElement;
    if (active && active !== document.body && document.contains(active) && !active.disabled) return;
    const node = state.nodes.get(id);
    const same = node ? node.querySelectorAll("button.key")[index] : null;
    if (same) {
      same.focus();
      return;
    }
    const all = [...log.querySelectorAll(".msg.bot button.key")];
    const last = all.length ? all[all.length - 1].closest(".msg") : null;
    const first = last ? last.querySelector("button.key") : null;
    (first || input).focus();
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    resize();
    say(text);
  }

  function resize() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; Enter while an input method composes is its own.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", resize);
  $("notice-close").addEventListener("click", hideNotice);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.rev) {
      enqueueSilent(async () => apply(await call("GET", `/api/history?since=${state.rev}`)));
    }
  });

  function enqueueSilent(task) {
    const run = state.queue.then(task);
    state.queue = run.catch(() => undefined);
    return run;
  }

  async function start() {
    const data = await call("GET", "/api/history");
    if (!data) return;
    apply(data);
    scrollDown(true);
    if (!data.messages.length) await say("/start"); // a first visit opens as Telegram's Start does
    if (!window.matchMedia("(pointer: coarse)").matches) input.focus(); // phones: no keyboard popping up
  }

  document.body.classList.add("ready");
  start();
})();
