// The one contract both transports share, so a game (or MoodscoreEmitter) can switch between
// OSC and WebSocket with a setting. Each method checks its arguments (ArgumentException with
// the allowed values) and returns at once; it never waits for the network.
using System;

namespace Moodscore
{
    /// <summary>Sends moods and cues to a moodscore engine.</summary>
    public interface IMoodscoreClient : IDisposable
    {
        /// <summary>Head for this mood, gliding there over <paramref name="glide"/> seconds
        /// (null: the engine's default). Valence and arousal in [-1, 1]; glide in [0, 60].</summary>
        void SendVA(float valence, float arousal, float? glide = null);

        /// <summary>Valence alone, in [-1, 1].</summary>
        void SendValence(float valence);

        /// <summary>Arousal alone, in [-1, 1].</summary>
        void SendArousal(float arousal);

        /// <summary>A short motif at the next beat: rise, fall, hit, victory, defeat, discovery.</summary>
        void SendStinger(string name);

        /// <summary>When new material takes effect: immediate, beat, bar or phrase.</summary>
        void SendTransition(string mode);

        void SendTransition(TransitionMode mode);

        /// <summary>Tempo override in [20, 300] BPM; 0 returns to the mood's own tempo.</summary>
        void SendTempo(float bpm);

        /// <summary>Intensity in [0, 1]: 0 is the melody and two parts, 1 every part; parts
        /// enter and leave at the next bar lines, gliding over <paramref name="glide"/> seconds.</summary>
        void SendIntensity(float intensity, float? glide = null);

        /// <summary>The orchestration from the next bar: a built-in style (default, orchestral,
        /// electronic, chiptune) or the one the engine started with.</summary>
        void SendStyle(string name);

        /// <summary>A theme in ABC (M:, L:, K: lines, then notes, rests and bar lines): it opens
        /// the next phrase and returns in later ones, in whatever mode the mood asks for.</summary>
        void SendTheme(string abc);

        void Play();

        /// <summary>Stops at once (null or "now"), or with "bar" or "phrase" closes on a cadence
        /// and a final chord at that boundary, then stops.</summary>
        void SendStop(string at = null);

        void Stop();
    }
}
