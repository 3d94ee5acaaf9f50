// The Unity face of the client: a component whose valence and arousal are set in the inspector
// or from game code and sent (only when changed, rate-limited, the last value always) over OSC
// or WebSocket. Engine events arrive on the client's background task; they are queued here and
// raised as UnityEvents in Update, on the main thread, where Unity's API may be used.
using System;
using System.Collections.Concurrent;
using UnityEngine;
using UnityEngine.Events;

namespace Moodscore.Unity
{
    /// <summary>bar, beat within the bar (from 0), tempo in BPM.</summary>
    [Serializable]
    public class MoodscoreBeatEvent : UnityEvent<int, int, float> { }

    [Serializable]
    public class MoodscorePhraseEvent : UnityEvent<PhraseInfo> { }

    [Serializable]
    public class MoodscoreMessageEvent : UnityEvent<string> { }

    public enum MoodscoreTransport
    {
        WebSocket,
        Osc,
    }

    [AddComponentMenu("Audio/Moodscore Emitter")]
    [DisallowMultipleComponent]
    public sealed class MoodscoreEmitter : MonoBehaviour
    {
        const int MaxQueued = 1024;  // events held while Update does not run (a paused player)

        [Header("Engine (moodscore serve)")]
        [Tooltip("OSC sends only; WebSocket also gets replies and beat/bar/phrase events.")]
        [SerializeField] MoodscoreTransport transport = MoodscoreTransport.WebSocket;
        [SerializeField] string host = "127.0.0.1";
        [Tooltip("moodscore serve --osc-port")]
        [SerializeField] int oscPort = 9000;
        [Tooltip("moodscore serve --ws-port")]
        [SerializeField] int webSocketPort = 8765;

        [Header("Mood")]
        [SerializeField, Range(-1f, 1f)] float valence;
        [SerializeField, Range(-1f, 1f)] float arousal;
        [Tooltip("Seconds the engine takes to glide to each new mood.")]
        [SerializeField, Range(0f, 60f)] float glideSeconds = 1f;
        [Tooltip("At most this many mood messages a second; the last value is always sent.")]
        [SerializeField, Range(1f, 60f)] float maxSendsPerSecond = 10f;

        [Header("Events (WebSocket only; raised on the main thread)")]
        [SerializeField] MoodscoreEvents subscribeTo = MoodscoreEvents.All;
        public MoodscoreBeatEvent onBeat = new MoodscoreBeatEvent();
        public MoodscoreBeatEvent onBar = new MoodscoreBeatEvent();
        public MoodscorePhraseEvent onPhrase = new MoodscorePhraseEvent();
        [Tooltip("The engine refused a message; its reason.")]
        public MoodscoreMessageEvent onRefused = new MoodscoreMessageEvent();

        readonly ConcurrentQueue<Action> mainThread = new ConcurrentQueue<Action>();
        IMoodscoreClient client;
        MoodscoreWebSocketClient socket;
        MoodThrottle throttle;

        /// <summary>Valence in [-1, 1]: negative is sad or tense, positive happy or calm.</summary>
        public float Valence
        {
            get { return valence; }
            set { valence = MoodInput.Axis("valence", value); }
        }

        /// <summary>Arousal in [-1, 1]: negative is calm or sad, positive tense or excited.</summary>
        public float Arousal
        {
            get { return arousal; }
            set { arousal = MoodInput.Axis("arousal", value); }
        }

        /// <summary>Seconds the engine glides to each new mood, in [0, 60].</summary>
        public float GlideSeconds
        {
            get { return glideSeconds; }
            set { glideSeconds = MoodInput.Glide(value).Value; }
        }

        /// <summary>The client in use while enabled (null while disabled), for anything else.</summary>
        public IMoodscoreClient Client { get { return client; } }

        /// <summary>OSC: always, once enabled. WebSocket: while the connection is open.</summary>
        public bool IsConnected
        {
            get { return socket != null ? socket.IsConnected : client != null; }
        }

        /// <summary>Both axes at once; neither changes unless both are valid.</summary>
        public void SetMood(float newValence, float newArousal)
        {
            MoodInput.Axis("valence", newValence);
            MoodInput.Axis("arousal", newArousal);
            valence = newValence;
            arousal = newArousal;
        }

        /// <summary>rise, fall, hit, victory, defeat or discovery, at the next beat.</summary>
        public void PlayStinger(string stingerName)
        {
            MoodInput.Stinger(stingerName);
            if (Ready("stinger " + stingerName)) client.SendStinger(stingerName);
        }

        /// <summary>immediate, beat, bar or phrase (a string, so a UnityEvent can call it).</summary>
        public void SetTransition(string mode)
        {
            MoodInput.Transition(mode);
            if (Ready("transition " + mode)) client.SendTransition(mode);
        }

        public void SetTransition(TransitionMode mode)
        {
            SetTransition(MoodInput.Transition(mode));
        }

        /// <summary>Tempo override in [20, 300] BPM; 0 returns to the mood's tempo.</summary>
        public void SetTempo(float bpm)
        {
            MoodInput.Bpm(bpm);
            if (Ready("tempo")) client.SendTempo(bpm);
        }

        /// <summary>Intensity in [0, 1], as FMOD/Wwise layers: parts enter and leave at bar lines.</summary>
        public void SetIntensity(float intensity, float glide = 1f)
        {
            MoodInput.Intensity(intensity);
            MoodInput.Glide(glide);
            if (Ready("intensity")) client.SendIntensity(intensity, glide);
        }

        /// <summary>The orchestration from the next bar: default, orchestral, electronic, chiptune.</summary>
        public void SetStyle(string styleName)
        {
            MoodInput.Style(styleName);
            if (Ready("style " + styleName)) client.SendStyle(styleName);
        }

        /// <summary>A theme in ABC: it opens the next phrase and returns in later ones.</summary>
        public void SetTheme(string abc)
        {
            MoodInput.Theme(abc);
            if (Ready("theme")) client.SendTheme(abc);
        }

        public void Play()
        {
            if (Ready("play")) client.Play();
        }

        public void Stop()
        {
            if (Ready("stop")) client.Stop();
        }

        /// <summary>"now" (or null) stops at once; "bar" or "phrase" closes on a cadence and a final
        /// chord at that boundary (a string, so a UnityEvent can call it).</summary>
        public void StopAt(string at)
        {
            MoodInput.StopAt(at);
            if (Ready("stop " + at)) client.SendStop(at);
        }

        bool Ready(string what)
        {
            if (IsConnected) return true;
            Debug.LogWarning("Moodscore: not connected to the engine; " + what + " was not sent", this);
            return false;
        }

        void OnEnable()
        {
            throttle = new MoodThrottle(maxSendsPerSecond);
            if (transport == MoodscoreTransport.Osc)
            {
                client = new MoodscoreOscClient(host, oscPort);
                return;
            }
            socket = new MoodscoreWebSocketClient(host, webSocketPort);
            // every handler runs on the client's background task: only queue work here
            socket.Connected += () => Post(() => throttle.Reset());  // the engine may have restarted
            socket.Disconnected += err => Post(() => Debug.LogWarning("Moodscore: " + err.Message + "; reconnecting", this));
            socket.Problem += err => Post(() => Debug.LogWarning("Moodscore: " + err.Message, this));
            socket.Refused += why => Post(() => onRefused.Invoke(why));
            socket.Beat += b => Post(() => onBeat.Invoke(b.Bar, b.Beat, (float)b.Tempo));
            socket.Bar += b => Post(() => onBar.Invoke(b.Bar, b.Beat, (float)b.Tempo));
            socket.Phrase += p => Post(() => onPhrase.Invoke(p));
            socket.SubscribeAsync(subscribeTo);  // stored; sent on every (re)connect
            socket.Start();
            client = socket;
        }

        void OnDisable()
        {
            if (client != null) client.Dispose();  // the WebSocket closes in the background
            client = null;
            socket = null;
            Action dropped;
            while (mainThread.TryDequeue(out dropped)) { }
        }

        void Update()
        {
            Action action;
            while (mainThread.TryDequeue(out action))
            {
                try
                {
                    action();
                }
                catch (Exception err)
                {
                    Debug.LogException(err, this);  // one listener's bug must not stop the rest
                }
            }
            if (!IsConnected) return;
            throttle.MaxPerSecond = maxSendsPerSecond;
            if (throttle.ShouldSend(valence, arousal, Time.unscaledTimeAsDouble))
                client.SendVA(valence, arousal, glideSeconds);
        }

        void Post(Action action)
        {
            if (mainThread.Count >= MaxQueued)
            {
                Action oldest;
                mainThread.TryDequeue(out oldest);
            }
            mainThread.Enqueue(action);
        }
    }
}
