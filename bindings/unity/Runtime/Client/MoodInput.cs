// The client's edge: every value is checked here, before it is encoded, with a message that
// says what is allowed (the same ranges the engine enforces, so a refusal shows up as an
// exception in the game's code instead of a counted reject in the engine's log).
using System;

namespace Moodscore
{
    /// <summary>When new musical material takes effect after a mood change.</summary>
    public enum TransitionMode
    {
        Immediate,
        Beat,
        Bar,
        Phrase,
    }

    /// <summary>Which events a WebSocket subscriber receives.</summary>
    [Flags]
    public enum MoodscoreEvents
    {
        None = 0,
        Beat = 1,
        Bar = 2,
        Phrase = 4,
        All = Beat | Bar | Phrase,
    }

    /// <summary>Checks of values going to the engine; each throws with the allowed range.</summary>
    public static class MoodInput
    {
        public const float MaxGlideSeconds = 60f;
        public const float MinBpm = 20f;
        public const float MaxBpm = 300f;
        public const int MaxStingerLength = 64;
        /// <summary>A theme's ABC in characters, as the engine takes it.</summary>
        public const int MaxThemeLength = 4000;
        /// <summary>The engine's limit on one WebSocket message (MAX_JSON_BYTES).</summary>
        public const int MaxJsonBytes = 16384;
        /// <summary>The engine's limit on one OSC datagram.</summary>
        public const int MaxOscDatagramBytes = 8192;

        /// <summary>When a stop takes effect, as the protocol spells it (null: now).</summary>
        public static readonly string[] StopNames = { "now", "bar", "phrase" };

        /// <summary>The four transition modes as the protocol spells them.</summary>
        public static readonly string[] TransitionNames = { "immediate", "beat", "bar", "phrase" };

        /// <summary>Valence or arousal: finite, in [-1, 1].</summary>
        public static float Axis(string name, float value)
        {
            if (float.IsNaN(value) || float.IsInfinity(value) || value < -1f || value > 1f)
                throw new ArgumentOutOfRangeException(name, value,
                    name + " must be a finite number in [-1, 1]");
            return value;
        }

        /// <summary>Glide seconds: finite, in [0, 60]; null means the engine's default.</summary>
        public static float? Glide(float? seconds)
        {
            if (seconds.HasValue)
            {
                float s = seconds.Value;
                if (float.IsNaN(s) || float.IsInfinity(s) || s < 0f || s > MaxGlideSeconds)
                    throw new ArgumentOutOfRangeException("glide", s,
                        "glide must be a finite number of seconds in [0, 60], or null for the engine default");
            }
            return seconds;
        }

        /// <summary>Tempo: 0 (back to the mood's tempo) or finite in [20, 300] BPM.</summary>
        public static float Bpm(float bpm)
        {
            if (bpm != 0f && (float.IsNaN(bpm) || float.IsInfinity(bpm) || bpm < MinBpm || bpm > MaxBpm))
                throw new ArgumentOutOfRangeException("bpm", bpm,
                    "bpm must be 0 (back to the mood's tempo) or a finite number in [20, 300]");
            return bpm;
        }

        /// <summary>Intensity: finite, in [0, 1].</summary>
        public static float Intensity(float value)
        {
            if (float.IsNaN(value) || float.IsInfinity(value) || value < 0f || value > 1f)
                throw new ArgumentOutOfRangeException("intensity", value, "intensity must be a finite number in [0, 1]");
            return value;
        }

        /// <summary>A style name: 1 to 32 characters, a lower-case letter first, then a-z 0-9 _ -.</summary>
        public static string Style(string name)
        {
            bool ok = name != null && name.Length >= 1 && name.Length <= 32 && name[0] >= 'a' && name[0] <= 'z';
            for (int i = 1; ok && i < name.Length; i++)
            {
                char c = name[i];
                ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
            }
            if (!ok)
                throw new ArgumentException("style name must be 1 to 32 characters, a-z first, then a-z 0-9 _ - "
                                            + "(moodscore styles lists them), got "
                                            + (name == null ? "null" : "\"" + Shorten(name) + "\""), "name");
            return name;
        }

        /// <summary>A stinger name: 1 to 64 characters from A-Z a-z 0-9 _ -.</summary>
        public static string Stinger(string name)
        {
            if (name == null)
                throw new ArgumentNullException("name", "stinger name must be 1 to 64 characters from A-Z a-z 0-9 _ -");
            bool ok = name.Length >= 1 && name.Length <= MaxStingerLength;
            for (int i = 0; ok && i < name.Length; i++)
            {
                char c = name[i];
                ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '_' || c == '-';
            }
            if (!ok)
                throw new ArgumentException("stinger name must be 1 to 64 characters from A-Z a-z 0-9 _ - "
                                            + "(the engine knows rise, fall, hit, victory, defeat, discovery), got \""
                                            + Shorten(name) + "\"", "name");
            return name;
        }

        /// <summary>A transition mode as the protocol spells it: immediate, beat, bar or phrase.</summary>
        public static string Transition(string mode)
        {
            if (mode != null)
                foreach (string known in TransitionNames)
                    if (known == mode)
                        return mode;
            throw new ArgumentException("transition mode must be one of immediate, beat, bar, phrase, got "
                                        + (mode == null ? "null" : "\"" + Shorten(mode) + "\""), "mode");
        }

        /// <summary>The protocol's name of a <see cref="TransitionMode"/>.</summary>
        public static string Transition(TransitionMode mode)
        {
            int i = (int)mode;
            if (i < 0 || i >= TransitionNames.Length)
                throw new ArgumentOutOfRangeException("mode", mode,
                    "transition mode must be one of Immediate, Beat, Bar, Phrase");
            return TransitionNames[i];
        }

        /// <summary>When to stop: null or "now" (at once), "bar" or "phrase" (close on a cadence
        /// and a final chord at that boundary, then stop).</summary>
        public static string StopAt(string at)
        {
            if (at == null) return null;
            foreach (string known in StopNames)
                if (known == at)
                    return at;
            throw new ArgumentException("at must be now (or absent): at once; bar or phrase: close on a cadence "
                                        + "and a final chord at the next bar or phrase boundary, then stop, got \""
                                        + Shorten(at) + "\"", "at");
        }

        /// <summary>A theme in ABC: 1 to 4000 characters, no NUL (the engine parses the whole theme
        /// and refuses bad ABC with its reason; what fits one message is checked on sending).</summary>
        public static string Theme(string abc)
        {
            const string allowed = "theme abc must be 1 to 4000 characters of ABC: M:, L:, K: lines, "
                                   + "then notes, rests and bar lines";
            if (abc == null)
                throw new ArgumentNullException("abc", allowed);
            if (abc.Length < 1 || abc.Length > MaxThemeLength)
                throw new ArgumentException(allowed + ", got " + abc.Length + " characters", "abc");
            if (abc.IndexOf('\0') >= 0)
                throw new ArgumentException(allowed + ", got a NUL character", "abc");
            return abc;
        }

        /// <summary>A theme's OSC datagram: at most 8192 bytes, the engine's limit.</summary>
        public static byte[] ThemeDatagram(byte[] packet)
        {
            if (packet.Length > MaxOscDatagramBytes)
                throw new ArgumentException("a theme sent over OSC must fit one datagram of at most 8192 bytes, got "
                                            + packet.Length + " (send a longer one over the WebSocket)", "abc");
            return packet;
        }

        /// <summary>A theme's WebSocket message: at most 16384 bytes of JSON, the engine's limit.</summary>
        public static string ThemeJson(string json)
        {
            int bytes = System.Text.Encoding.UTF8.GetByteCount(json);
            if (bytes > MaxJsonBytes)
                throw new ArgumentException("a theme message must be at most 16384 bytes of JSON, got " + bytes
                                            + " (escapes included)", "abc");
            return json;
        }

        /// <summary>The event names of a subscription, e.g. ["beat", "phrase"].</summary>
        public static string[] EventNames(MoodscoreEvents events)
        {
            if ((events & ~MoodscoreEvents.All) != 0)
                throw new ArgumentOutOfRangeException("events", events,
                    "events must combine Beat, Bar and Phrase");
            var names = new System.Collections.Generic.List<string>(3);
            if ((events & MoodscoreEvents.Beat) != 0) names.Add("beat");
            if ((events & MoodscoreEvents.Bar) != 0) names.Add("bar");
            if ((events & MoodscoreEvents.Phrase) != 0) names.Add("phrase");
            return names.ToArray();
        }

        static string Shorten(string text)
        {
            return text.Length <= 40 ? text : text.Substring(0, 40) + "...";
        }
    }
}
