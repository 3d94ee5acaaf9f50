// The client's one exception tree, as moodscore.errors is the engine's: MoodscoreException at
// the root. Bad arguments are not in it: they are the standard ArgumentException and
// ArgumentOutOfRangeException, thrown by MoodInput before anything is sent.
using System;

namespace Moodscore
{
    /// <summary>Root of the client's own exceptions.</summary>
    public class MoodscoreException : Exception
    {
        public MoodscoreException(string message) : base(message) { }
        public MoodscoreException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>The connection failed, dropped or is not open.</summary>
    public class MoodscoreConnectionException : MoodscoreException
    {
        public MoodscoreConnectionException(string message) : base(message) { }
        public MoodscoreConnectionException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>The engine sent something this client cannot read.</summary>
    public class MoodscoreProtocolException : MoodscoreException
    {
        public MoodscoreProtocolException(string message) : base(message) { }
        public MoodscoreProtocolException(string message, Exception inner) : base(message, inner) { }
    }
}
