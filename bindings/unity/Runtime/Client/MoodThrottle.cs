// Rate limiting for a mood that changes every frame (a slider, a health bar, a tracker): send
// only when it changed, at most N times a second, and never leave the last value unsent.
// Pure and clock-free (the caller passes the time), so MoodscoreEmitter and tests share it.
using System;

namespace Moodscore
{
    /// <summary>Decides, frame by frame, whether the current mood should go out now.</summary>
    public sealed class MoodThrottle
    {
        double maxPerSecond;
        double nextAllowed = double.NegativeInfinity;
        float sentValence, sentArousal;
        bool sentAny;

        /// <param name="maxPerSecond">At most this many sends a second, in (0, 1000].</param>
        public MoodThrottle(double maxPerSecond)
        {
            MaxPerSecond = maxPerSecond;
        }

        public double MaxPerSecond
        {
            get { return maxPerSecond; }
            set
            {
                if (double.IsNaN(value) || value <= 0 || value > 1000)
                    throw new ArgumentOutOfRangeException("value", value, "max sends per second must be in (0, 1000]");
                maxPerSecond = value;
            }
        }

        /// <summary>Call every frame with the current mood and a clock in seconds. True: send
        /// this mood now (it is then taken as sent). A change held back by the rate limit goes
        /// out on the first call after the interval, so the final value is always sent as long
        /// as the caller keeps calling.</summary>
        public bool ShouldSend(float valence, float arousal, double now)
        {
            if (sentAny && valence == sentValence && arousal == sentArousal) return false;
            if (now < nextAllowed) return false;
            sentValence = valence;
            sentArousal = arousal;
            sentAny = true;
            nextAllowed = now + 1.0 / maxPerSecond;
            return true;
        }

        /// <summary>Forget what was sent, so the next call sends (e.g. after a reconnect,
        /// when the engine may have restarted with a neutral mood).</summary>
        public void Reset()
        {
            sentAny = false;
            nextAllowed = double.NegativeInfinity;
        }
    }
}
