// The WebSocket transport: JSON messages out, each answered in order by an ack or an error,
// and the subscribed beat/bar/phrase events in. One background task per client reads the
// socket (joining fragmented frames), completes the replies and raises the events; when the
// connection drops it fails what is pending, raises Disconnected and reconnects with backoff,
// subscribing again. Events are raised on that background task, never on the caller's thread:
// in Unity, MoodscoreEmitter hands them to the main thread.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Moodscore
{
    /// <summary>Talks to the engine's WebSocket: moods and cues out, replies and events in.</summary>
    public sealed class MoodscoreWebSocketClient : IMoodscoreClient
    {
        const int BufferBytes = 4096;

        readonly Uri uri;
        readonly object gate = new object();
        readonly Queue<TaskCompletionSource<MoodscoreReply>> pending = new Queue<TaskCompletionSource<MoodscoreReply>>();
        readonly SemaphoreSlim sendLock = new SemaphoreSlim(1, 1);
        readonly CancellationTokenSource stopping = new CancellationTokenSource();
        ClientWebSocket socket;  // the open connection, or null
        MoodscoreEvents subscription = MoodscoreEvents.None;
        Task supervisor;
        bool started;  // a failed ConnectAsync clears it, so it can be called again
        volatile bool closing;

        /// <summary>A client for ws://<paramref name="host"/>:<paramref name="port"/> (moodscore
        /// serve's --ws-host and --ws-port; 127.0.0.1:8765 by default). Call
        /// <see cref="ConnectAsync"/> or <see cref="Start"/> next.</summary>
        public MoodscoreWebSocketClient(string host = "127.0.0.1", int port = 8765)
            : this(new Uri("ws://" + host + ":" + CheckPort(port) + "/"))
        {
        }

        public MoodscoreWebSocketClient(Uri uri)
        {
            if (uri == null) throw new ArgumentNullException("uri");
            if (uri.Scheme != "ws" && uri.Scheme != "wss")
                throw new ArgumentException("uri must start with ws:// or wss://, got " + uri, "uri");
            this.uri = uri;
            AutoReconnect = true;
            ReconnectDelay = TimeSpan.FromSeconds(0.5);
            MaxReconnectDelay = TimeSpan.FromSeconds(10);
            MaxMessageBytes = 1 << 20;
        }

        public Uri Uri { get { return uri; } }

        /// <summary>Reconnect after a drop (default true), waiting <see cref="ReconnectDelay"/>,
        /// doubled after each failed try up to <see cref="MaxReconnectDelay"/>.</summary>
        public bool AutoReconnect { get; set; }
        public TimeSpan ReconnectDelay { get; set; }
        public TimeSpan MaxReconnectDelay { get; set; }

        /// <summary>A longer incoming message closes the connection (1009, message too big).</summary>
        public int MaxMessageBytes { get; set; }

        public bool IsConnected
        {
            get { lock (gate) return socket != null && socket.State == WebSocketState.Open; }
        }

        // Raised on the client's background task. An exception thrown by a handler is caught
        // and passed to Problem, so it never stops the client.
        public event Action Connected;
        /// <summary>The connection dropped (not after <see cref="CloseAsync"/>); why.</summary>
        public event Action<Exception> Disconnected;
        public event Action<BeatInfo> Beat;
        public event Action<BeatInfo> Bar;
        public event Action<PhraseInfo> Phrase;
        /// <summary>The engine refused a message; its reason, which says what is allowed.</summary>
        public event Action<string> Refused;
        /// <summary>Something went wrong that no caller is waiting for: a message that could not
        /// be read, a failed reconnect, a handler that threw, a fire-and-forget send that failed.</summary>
        public event Action<Exception> Problem;

        // --- connecting ----------------------------------------------------------------------

        /// <summary>Connects; fails if the first try does. Afterwards drops are reconnected.</summary>
        public Task ConnectAsync()
        {
            // the caller's continuation must not run on the supervisor, before it starts reading
            var first = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Launch(first);
            return first.Task;
        }

        /// <summary>Connects in the background, trying again until it succeeds (a game that
        /// starts before the engine). Watch <see cref="Connected"/>.</summary>
        public void Start()
        {
            Launch(null);
        }

        void Launch(TaskCompletionSource<bool> first)
        {
            lock (gate)
            {
                if (closing) throw new ObjectDisposedException("MoodscoreWebSocketClient", "the client was closed");
                if (started) throw new InvalidOperationException("the client is already started");
                started = true;
                supervisor = Task.Run(() => SuperviseAsync(first));
            }
        }

        async Task SuperviseAsync(TaskCompletionSource<bool> first)
        {
            TimeSpan delay = ReconnectDelay;
            while (!closing)
            {
                var ws = new ClientWebSocket();
                try
                {
                    await ws.ConnectAsync(uri, stopping.Token).ConfigureAwait(false);
                }
                catch (Exception err)
                {
                    ws.Dispose();
                    var failed = new MoodscoreConnectionException("cannot connect to " + uri + ": " + err.Message, err);
                    if (first != null)
                    {
                        lock (gate) started = false;
                        first.TrySetException(failed);
                        return;
                    }
                    if (closing) break;
                    Report(failed);
                    if (!await PauseAsync(delay).ConfigureAwait(false)) break;
                    delay = Next(delay);
                    continue;
                }
                delay = ReconnectDelay;
                MoodscoreEvents kinds;
                lock (gate)
                {
                    socket = ws;
                    kinds = subscription;
                }
                if (first != null) first.TrySetResult(true);
                first = null;
                Raise(Connected);
                if (kinds != MoodscoreEvents.None) Forget(SendJsonAsync(SubscribeJson(kinds)));

                Exception why = null;
                try
                {
                    await ReceiveAsync(ws).ConfigureAwait(false);
                }
                catch (Exception err)
                {
                    why = err;
                }
                lock (gate) socket = null;
                string reason = ws.CloseStatus.HasValue
                    ? "the engine closed the connection (" + (int)ws.CloseStatus.Value + " "
                      + ws.CloseStatusDescription + ")"
                    : "the connection was lost";
                var lost = new MoodscoreConnectionException(
                    reason + (why != null ? ": " + why.Message : ""), why);
                FailPending(lost);
                ws.Dispose();
                if (closing) break;
                Raise(Disconnected, lost);
                if (!AutoReconnect || !await PauseAsync(delay).ConfigureAwait(false)) break;
            }
            if (first != null) first.TrySetException(new ObjectDisposedException("MoodscoreWebSocketClient"));
            FailPending(new MoodscoreConnectionException("the client was closed"));
        }

        TimeSpan Next(TimeSpan delay)
        {
            long doubled = Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks);
            return TimeSpan.FromTicks(Math.Max(doubled, TimeSpan.FromMilliseconds(10).Ticks));
        }

        async Task<bool> PauseAsync(TimeSpan delay)
        {
            try
            {
                await Task.Delay(delay, stopping.Token).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        // --- receiving -----------------------------------------------------------------------

        async Task ReceiveAsync(ClientWebSocket ws)
        {
            var buffer = new byte[BufferBytes];
            var message = new MemoryStream();
            while (ws.State == WebSocketState.Open || ws.State == WebSocketState.CloseSent)
            {
                WebSocketReceiveResult result = await ws.ReceiveAsync(
                    new ArraySegment<byte>(buffer), CancellationToken.None).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (ws.State == WebSocketState.CloseReceived)  // the engine closed first: answer
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "",
                                                  CancellationToken.None).ConfigureAwait(false);
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (message.Length > MaxMessageBytes)
                {
                    await ws.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig,
                                              "messages are limited to " + MaxMessageBytes + " bytes",
                                              CancellationToken.None).ConfigureAwait(false);
                    throw new MoodscoreProtocolException("the engine sent a message over "
                                                         + MaxMessageBytes + " bytes");
                }
                if (!result.EndOfMessage) continue;  // a fragment: the rest follows
                string text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
                Dispatch(text);
            }
        }

        void Dispatch(string text)
        {
            Dictionary<string, object> msg;
            string type;
            try
            {
                msg = Json.ParseObject(text);
                object t;
                type = msg.TryGetValue("type", out t) ? t as string : null;
                if (type == null) throw new FormatException("no \"type\"");
            }
            catch (FormatException err)
            {
                Report(new MoodscoreProtocolException("cannot read a message from the engine: " + err.Message
                                                      + ": " + Shorten(text), err));
                return;
            }
            try
            {
                switch (type)
                {
                    case "ack":
                        Complete(MoodscoreReply.Ack);
                        break;
                    case "error":
                        object error;
                        msg.TryGetValue("error", out error);
                        var reply = MoodscoreReply.Refused(error as string ?? "(no reason given)");
                        Complete(reply);
                        Raise(Refused, reply.Error);
                        break;
                    case "beat":
                        Raise(Beat, BeatInfo.From(msg, false));
                        break;
                    case "bar":
                        Raise(Bar, BeatInfo.From(msg, true));
                        break;
                    case "phrase":
                        Raise(Phrase, PhraseInfo.From(msg));
                        break;
                    default:
                        Report(new MoodscoreProtocolException("ignored a message of unknown type \"" + type + "\""));
                        break;
                }
            }
            catch (MoodscoreProtocolException err)
            {
                Report(new MoodscoreProtocolException(err.Message + ": " + Shorten(text), err));
            }
        }

        void Complete(MoodscoreReply reply)
        {
            TaskCompletionSource<MoodscoreReply> waiting = null;
            lock (gate)
                if (pending.Count > 0) waiting = pending.Dequeue();
            if (waiting == null)
                Report(new MoodscoreProtocolException("a reply (" + reply + ") to no message"));
            else
                waiting.TrySetResult(reply);  // continuations run asynchronously: see NewReply
        }

        void FailPending(Exception why)
        {
            TaskCompletionSource<MoodscoreReply>[] failed;
            lock (gate)
            {
                failed = pending.ToArray();
                pending.Clear();
            }
            foreach (var waiting in failed) waiting.TrySetException(why);
        }

        // --- sending -------------------------------------------------------------------------

        /// <summary>Which events to receive from now on (and again after each reconnect);
        /// <see cref="Beat"/>, <see cref="Bar"/> and <see cref="Phrase"/> raise them. Before the
        /// connection is open, it is stored and sent on connecting (the reply is then an ack).</summary>
        public Task<MoodscoreReply> SubscribeAsync(MoodscoreEvents events = MoodscoreEvents.All)
        {
            string json = SubscribeJson(events);
            lock (gate)
            {
                subscription = events;
                if (socket == null) return Task.FromResult(MoodscoreReply.Ack);
            }
            return SendJsonAsync(json);
        }

        public Task<MoodscoreReply> SendVAAsync(float valence, float arousal, float? glide = null)
        {
            var json = new StringBuilder("{\"type\":\"va\",\"valence\":");
            json.Append(Json.Number(MoodInput.Axis("valence", valence)));
            json.Append(",\"arousal\":").Append(Json.Number(MoodInput.Axis("arousal", arousal)));
            if (MoodInput.Glide(glide).HasValue) json.Append(",\"glide\":").Append(Json.Number(glide.Value));
            return SendJsonAsync(json.Append('}').ToString());
        }

        public Task<MoodscoreReply> SendValenceAsync(float valence, float? glide = null)
        {
            return SendAxisAsync("valence", valence, glide);
        }

        public Task<MoodscoreReply> SendArousalAsync(float arousal, float? glide = null)
        {
            return SendAxisAsync("arousal", arousal, glide);
        }

        Task<MoodscoreReply> SendAxisAsync(string axis, float value, float? glide)
        {
            string json = "{\"type\":\"" + axis + "\",\"value\":" + Json.Number(MoodInput.Axis(axis, value))
                          + (MoodInput.Glide(glide).HasValue ? ",\"glide\":" + Json.Number(glide.Value) : "") + "}";
            return SendJsonAsync(json);
        }

        public Task<MoodscoreReply> SendStingerAsync(string name)
        {
            return SendJsonAsync("{\"type\":\"stinger\",\"name\":" + Json.Quote(MoodInput.Stinger(name)) + "}");
        }

        public Task<MoodscoreReply> SendTransitionAsync(string mode)
        {
            return SendJsonAsync("{\"type\":\"transition\",\"mode\":" + Json.Quote(MoodInput.Transition(mode)) + "}");
        }

        public Task<MoodscoreReply> SendTransitionAsync(TransitionMode mode)
        {
            return SendTransitionAsync(MoodInput.Transition(mode));
        }

        public Task<MoodscoreReply> SendTempoAsync(float bpm)
        {
            return SendJsonAsync("{\"type\":\"tempo\",\"bpm\":" + Json.Number(MoodInput.Bpm(bpm)) + "}");
        }

        public Task<MoodscoreReply> SendIntensityAsync(float intensity, float? glide = null)
        {
            string json = "{\"type\":\"intensity\",\"value\":" + Json.Number(MoodInput.Intensity(intensity))
                          + (MoodInput.Glide(glide).HasValue ? ",\"glide\":" + Json.Number(glide.Value) : "") + "}";
            return SendJsonAsync(json);
        }

        public Task<MoodscoreReply> SendStyleAsync(string name)
        {
            return SendJsonAsync("{\"type\":\"style\",\"name\":" + Json.Quote(MoodInput.Style(name)) + "}");
        }

        public Task<MoodscoreReply> PlayAsync() { return SendJsonAsync("{\"type\":\"play\"}"); }

        public Task<MoodscoreReply> StopAsync() { return SendJsonAsync("{\"type\":\"stop\"}"); }

        /// <summary>Stop at once (null or "now"), or at the next "bar" or "phrase" boundary on a cadence.</summary>
        public Task<MoodscoreReply> SendStopAsync(string at = null)
        {
            return MoodInput.StopAt(at) == null
                ? StopAsync()
                : SendJsonAsync("{\"type\":\"stop\",\"at\":" + Json.Quote(at) + "}");
        }

        /// <summary>A theme in ABC; the message must fit the engine's 16384 bytes.</summary>
        public Task<MoodscoreReply> SendThemeAsync(string abc)
        {
            return SendJsonAsync(MoodInput.ThemeJson("{\"type\":\"theme\",\"abc\":" + Json.Quote(MoodInput.Theme(abc)) + "}"));
        }

        /// <summary>Sends one JSON message as it is, unchecked; the task completes with the
        /// engine's reply, or fails with <see cref="MoodscoreConnectionException"/>.</summary>
        public async Task<MoodscoreReply> SendJsonAsync(string json)
        {
            if (json == null) throw new ArgumentNullException("json");
            byte[] bytes = Encoding.UTF8.GetBytes(json);
            var reply = NewReply();
            await sendLock.WaitAsync().ConfigureAwait(false);
            try
            {
                ClientWebSocket ws;
                lock (gate)
                {
                    ws = socket;
                    if (ws == null || ws.State != WebSocketState.Open)
                        throw new MoodscoreConnectionException("not connected to " + uri
                                                               + (closing ? " (closed)" : ""));
                    pending.Enqueue(reply);  // replies come in the order messages are sent
                }
                try
                {
                    await ws.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true,
                                       CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception err)
                {
                    ws.Abort();  // the receive loop sees it, fails what is pending and reconnects
                    throw new MoodscoreConnectionException("cannot send to " + uri + ": " + err.Message, err);
                }
            }
            finally
            {
                sendLock.Release();
            }
            return await reply.Task.ConfigureAwait(false);
        }

        static TaskCompletionSource<MoodscoreReply> NewReply()
        {
            // continuations must not run inline on the receive loop, where a caller's code
            // (or a blocking wait) would stall every later event
            return new TaskCompletionSource<MoodscoreReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        static string SubscribeJson(MoodscoreEvents events)
        {
            string[] names = MoodInput.EventNames(events);
            for (int i = 0; i < names.Length; i++) names[i] = Json.Quote(names[i]);
            return "{\"type\":\"subscribe\",\"events\":[" + string.Join(",", names) + "]}";
        }

        // IMoodscoreClient: check now, send in the background; failures and refusals go to
        // Problem and Refused.
        public void SendVA(float valence, float arousal, float? glide = null) { Forget(SendVAAsync(valence, arousal, glide)); }
        public void SendValence(float valence) { Forget(SendValenceAsync(valence)); }
        public void SendArousal(float arousal) { Forget(SendArousalAsync(arousal)); }
        public void SendStinger(string name) { Forget(SendStingerAsync(name)); }
        public void SendTransition(string mode) { Forget(SendTransitionAsync(mode)); }
        public void SendTransition(TransitionMode mode) { Forget(SendTransitionAsync(mode)); }
        public void SendTempo(float bpm) { Forget(SendTempoAsync(bpm)); }
        public void SendIntensity(float intensity, float? glide = null) { Forget(SendIntensityAsync(intensity, glide)); }
        public void SendStyle(string name) { Forget(SendStyleAsync(name)); }
        public void Play() { Forget(PlayAsync()); }
        public void Stop() { Forget(StopAsync()); }
        public void SendStop(string at = null) { Forget(SendStopAsync(at)); }
        public void SendTheme(string abc) { Forget(SendThemeAsync(abc)); }

        void Forget(Task<MoodscoreReply> task)
        {
            task.ContinueWith(t => Report(t.Exception.GetBaseException()),
                              TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }

        // --- closing -------------------------------------------------------------------------

        /// <summary>Closes the connection cleanly (close handshake, waiting up to
        /// <paramref name="timeout"/>, default 2 s) and stops reconnecting. Pending replies fail.</summary>
        public async Task CloseAsync(TimeSpan? timeout = null)
        {
            ClientWebSocket ws;
            Task running;
            lock (gate)
            {
                closing = true;
                ws = socket;
                running = supervisor;
            }
            stopping.Cancel();
            if (running == null) return;
            var limit = Task.Delay(timeout ?? TimeSpan.FromSeconds(2));
            if (ws != null && ws.State == WebSocketState.Open)
            {
                try
                {
                    // only our half: the receive loop reads the engine's close frame and ends
                    Task close = ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    await Task.WhenAny(close, limit).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // already failing: the abort below ends it
                }
            }
            if (await Task.WhenAny(running, limit).ConfigureAwait(false) != running && ws != null)
            {
                ws.Abort();
                await running.ConfigureAwait(false);
            }
        }

        /// <summary>Starts a clean close and returns without waiting; see <see cref="CloseAsync"/>.</summary>
        public void Dispose()
        {
            CloseAsync().ContinueWith(t => Report(t.Exception.GetBaseException()),
                                      TaskContinuationOptions.OnlyOnFaulted);
        }

        // --- raising events ------------------------------------------------------------------

        void Raise(Action handler)
        {
            if (handler == null) return;
            try { handler(); }
            catch (Exception err) { Report(err); }
        }

        void Raise<T>(Action<T> handler, T value)
        {
            if (handler == null) return;
            try { handler(value); }
            catch (Exception err) { Report(err); }
        }

        void Report(Exception err)
        {
            Action<Exception> handler = Problem;
            if (handler == null) return;
            try { handler(err); }
            catch (Exception)
            {
                // a Problem handler that throws has nowhere left to report to
            }
        }

        static string Shorten(string text)
        {
            return text.Length <= 200 ? text : text.Substring(0, 200) + "...";
        }

        static int CheckPort(int port)
        {
            if (port < 1 || port > 65535)
                throw new ArgumentOutOfRangeException("port", port, "port must be in [1, 65535]");
            return port;
        }
    }
}
