// The engine's music out of the game's own audio: an AudioSource whose samples come from the
// engine's audio stream (moodscore serve --ws-audio), through a jitter buffer, in
// OnAudioFilterRead on Unity's audio thread, so it goes through the AudioMixerGroup chosen here
// with the game's volume, effects and snapshots. Pausing the game (AudioListener.pause, or
// this component disabled) pauses the stream cleanly: nothing is read, stale audio is dropped,
// and on resume the music goes on as it is now. MusicTime is the engine clock of the sample
// being heard, to line game logic up with beat, bar and phrase events (their Time).
using UnityEngine;
using UnityEngine.Audio;

namespace Moodscore.Unity
{
    [AddComponentMenu("Audio/Moodscore Audio")]
    [RequireComponent(typeof(AudioSource))]
    [DisallowMultipleComponent]
    public sealed class MoodscoreAudio : MonoBehaviour
    {
        [Header("Engine (moodscore serve --ws-audio)")]
        [SerializeField] string host = "127.0.0.1";
        [Tooltip("moodscore serve --ws-port")]
        [SerializeField] int webSocketPort = 8765;

        [Header("Playback")]
        [Tooltip("The mixer group the music plays through.")]
        [SerializeField] AudioMixerGroup output;
        [Tooltip("Seconds buffered before playing: more survives a worse network, less is heard sooner.")]
        [SerializeField, Range(0.02f, 1f)] float bufferSeconds = 0.1f;

        AudioSource source;
        AudioJitterBuffer buffer;
        MoodscoreAudioStream stream;
        int outputRate;

        /// <summary>Engine-clock time of what is heard now (the beat/bar/phrase events' Time),
        /// up to the audio output's own latency.</summary>
        public double MusicTime { get { return buffer != null ? buffer.MusicTime : 0.0; } }
        public int Underruns { get { return buffer != null ? buffer.Underruns : 0; } }
        public long LostFrames { get { return buffer != null ? buffer.LostFrames : 0; } }
        public string Problem { get { return stream != null ? stream.Problem : null; } }

        void OnEnable()
        {
            outputRate = AudioSettings.outputSampleRate;
            source = GetComponent<AudioSource>();
            source.outputAudioMixerGroup = output;
            source.playOnAwake = false;
            source.clip = null;  // OnAudioFilterRead supplies the samples
            buffer = new AudioJitterBuffer(2.0, bufferSeconds);
            stream = new MoodscoreAudioStream(host, webSocketPort, buffer);
            stream.Start();
            source.Play();
        }

        void OnDisable()
        {
            if (source != null) source.Stop();
            if (stream != null) stream.Dispose();
            stream = null;
            buffer = null;
        }

        void OnApplicationPause(bool paused)
        {
            if (buffer != null) buffer.Paused = paused;
        }

        void Update()
        {
            if (buffer != null) buffer.Paused = AudioListener.pause;
        }

        void OnAudioFilterRead(float[] data, int channels)
        {
            var b = buffer;
            if (b == null) { System.Array.Clear(data, 0, data.Length); return; }
            b.Read(data, channels, outputRate);
        }
    }
}
