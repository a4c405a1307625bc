// The live event feed: one WebSocket to the service's event stream, its credential offered as the subprotocol
// bearer.<credential> (a browser cannot set headers on a WebSocket, and a URL could be logged), reconnected with
// exponential back-off and jitter when it drops (a restart, a deploy), the state shown as it changes.

const protocol = "facilitator-events";
const minimumDelayMs = 500;
const maximumDelayMs = 15000;

export class EventFeed {
  constructor(path, credential, onEvent, onState) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.credential = credential;
    this.onEvent = onEvent;
    this.onState = onState;
    this.attempt = 0;
    this.stopped = false;
    this.socket = null;
    this.timer = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000);
      this.socket = null;
    }
    this.onState("idle", "feed: stopped");
  }

  connect() {
    this.onState("connecting", this.attempt === 0 ? "feed: connecting" : `feed: reconnecting (attempt ${this.attempt + 1})`);
    const protocols = this.credential ? [protocol, "bearer." + this.credential] : [protocol];
    let socket;
    try {
      socket = new WebSocket(this.url, protocols);
    } catch {
      this.retry("the credential cannot be offered as a WebSocket subprotocol");
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      socket.send(JSON.stringify({ type: "subscribe", channels: ["payments", "stats", "errors"] }));
      this.onState("live", "feed: live");
    };
    socket.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      this.onEvent(event);
    };
    socket.onclose = (close) => {
      this.socket = null;
      if (!this.stopped) {
        this.retry(close.code === 1000 ? "closed" : `closed (${close.code})`);
      }
    };
  }

  retry(reason) {
    const delay = Math.min(maximumDelayMs, minimumDelayMs * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt++;
    this.onState("reconnecting", `feed: ${reason}, reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
