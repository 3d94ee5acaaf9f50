// What the engine sends back over the WebSocket: replies (ack or error) and the beat, bar and
// phrase events of a subscription, read from the parsed JSON with checks on every field used.
using System;
using System.Collections.Generic;

namespace Moodscore
{
    /// <summary>The engine's answer to one message: an ack, or an error saying what was wrong.</summary>
    public sealed class MoodscoreReply
    {
        public static readonly MoodscoreReply Ack = new MoodscoreReply(null);

        MoodscoreReply(string error) { Error = error; }

        public static MoodscoreReply Refused(string error) { return new MoodscoreReply(error); }

        /// <summary>Null for an ack; otherwise the engine's reason for refusing the message.</summary>
        public string Error { get; private set; }

        public bool IsAck { get { return Error == null; } }

        public override string ToString() { return IsAck ? "ack" : "error: " + Error; }
    }

    /// <summary>A beat (or, when <see cref="IsBar"/>, the first beat of a bar) as it sounds.</summary>
    public sealed class BeatInfo
    {
        public BeatInfo(bool isBar, int bar, int beat, double tempo, double time)
        {
            IsBar = isBar; Bar = bar; Beat = beat; Tempo = tempo; Time = time;
        }

        public bool IsBar { get; private set; }
        public int Bar { get; private set; }
        /// <summary>Beat within the bar, from 0.</summary>
        public int Beat { get; private set; }
        /// <summary>Beats per minute.</summary>
        public double Tempo { get; private set; }
        /// <summary>The engine's clock, in seconds.</summary>
        public double Time { get; private set; }

        internal static BeatInfo From(Dictionary<string, object> e, bool isBar)
        {
            return new BeatInfo(isBar, Field.Int(e, "bar"), Field.Int(e, "beat"),
                                Field.Number(e, "tempo"), Field.Number(e, "time"));
        }
    }

    /// <summary>One note of a phrase; start and duration in beats from the phrase start.</summary>
    public struct NoteInfo
    {
        public int Pitch, Velocity, Channel;
        public double Start, Duration;
    }

    /// <summary>A phrase, sent as soon as it is scheduled (before it sounds).</summary>
    public sealed class PhraseInfo
    {
        public int Index { get; private set; }
        public int Bars { get; private set; }
        /// <summary>The engine's clock, in seconds, when the phrase starts.</summary>
        public double StartTime { get; private set; }
        public double Tempo { get; private set; }
        /// <summary>The melody in ABC notation.</summary>
        public string Abc { get; private set; }
        public IList<NoteInfo> Notes { get; private set; }
        /// <summary>A stand-in for a phrase that was late.</summary>
        public bool Variation { get; private set; }
        /// <summary>Whether the engine said which mood the phrase was made for.</summary>
        public bool HasMood { get; private set; }
        public double Valence { get; private set; }
        public double Arousal { get; private set; }

        internal static PhraseInfo From(Dictionary<string, object> e)
        {
            var notes = new List<NoteInfo>();
            foreach (object item in Field.List(e, "notes"))
            {
                var n = item as Dictionary<string, object>;
                if (n == null) throw new MoodscoreProtocolException("phrase notes must be objects");
                notes.Add(new NoteInfo
                {
                    Pitch = Field.Int(n, "pitch"), Start = Field.Number(n, "start"),
                    Duration = Field.Number(n, "duration"), Velocity = Field.Int(n, "velocity"),
                    Channel = Field.Int(n, "channel"),
                });
            }
            var phrase = new PhraseInfo
            {
                Index = Field.Int(e, "index"), Bars = Field.Int(e, "bars"),
                StartTime = Field.Number(e, "start_time"), Tempo = Field.Number(e, "tempo"),
                Abc = Field.String(e, "abc"), Notes = notes.AsReadOnly(),
            };
            object variation, mood;
            if (e.TryGetValue("variation", out variation) && variation is bool)
                phrase.Variation = (bool)variation;
            if (e.TryGetValue("mood", out mood) && mood != null)
            {
                var va = mood as List<object>;
                if (va == null || va.Count != 2 || !(va[0] is double) || !(va[1] is double))
                    throw new MoodscoreProtocolException("phrase mood must be [valence, arousal] or null");
                phrase.HasMood = true;
                phrase.Valence = (double)va[0];
                phrase.Arousal = (double)va[1];
            }
            return phrase;
        }
    }

    /// <summary>Typed reads of fields, each failing with the field's name.</summary>
    static class Field
    {
        public static double Number(Dictionary<string, object> obj, string name)
        {
            object value;
            if (!obj.TryGetValue(name, out value) || !(value is double))
                throw new MoodscoreProtocolException(Kind(obj) + " has no number '" + name + "'");
            return (double)value;
        }

        public static int Int(Dictionary<string, object> obj, string name)
        {
            double value = Number(obj, name);
            if (value != Math.Floor(value) || value < int.MinValue || value > int.MaxValue)
                throw new MoodscoreProtocolException(Kind(obj) + " field '" + name + "' must be an integer");
            return (int)value;
        }

        public static string String(Dictionary<string, object> obj, string name)
        {
            object value;
            if (!obj.TryGetValue(name, out value) || !(value is string))
                throw new MoodscoreProtocolException(Kind(obj) + " has no string '" + name + "'");
            return (string)value;
        }

        public static List<object> List(Dictionary<string, object> obj, string name)
        {
            object value;
            if (!obj.TryGetValue(name, out value) || !(value is List<object>))
                throw new MoodscoreProtocolException(Kind(obj) + " has no list '" + name + "'");
            return (List<object>)value;
        }

        static string Kind(Dictionary<string, object> obj)
        {
            object type;
            return obj.TryGetValue("type", out type) && type is string ? (string)type + " event" : "message";
        }
    }
}
