// A console driver for the pure .NET client, for tests/bindings/test_unity.py. It reads one
// command a line on stdin and writes one JSON line per result, event and problem on stdout:
//
//   osc METHOD ARGS...   MoodscoreOscClient: va V A [GLIDE], valence V, arousal A, stinger NAME,
//                        transition MODE, tempo BPM, play, stop [AT] (AT: SendStop(AT); "null" for
//                        SendStop(null)), theme ABC (percent-encoded, so it may hold newlines)
//   ws METHOD ARGS...    the same on MoodscoreWebSocketClient, waiting for the engine's reply
//   connect [EVENTS]     ConnectAsync, then SubscribeAsync (EVENTS: e.g. Beat,Bar; default All)
//   encode ADDRESS TYPES ARGS...   Osc.Message, as hex (TYPES: f, i, s per argument, or -)
//   throttle MAX T,V,A...          MoodThrottle fed frames (time, valence, arousal); "reset"
//                        between frames resets it; the indices of the frames it sent
//   close                CloseAsync
//   quit
//
// Every command ends with {"done": N} (N counts commands from 1) or {"done": N, "exception":
// TYPE, "message": TEXT}. Events arrive as {"event": "beat", ...} at any time.
//
//   mono Harness.exe OSC_PORT WS_PORT
using System;
using System.Globalization;
using System.Text;
using System.Threading.Tasks;
using Moodscore;

static class Harness
{
    static readonly object Out = new object();
    static MoodscoreOscClient osc;
    static MoodscoreWebSocketClient ws;

    static int Main(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: mono Harness.exe OSC_PORT WS_PORT");
            return 2;
        }
        osc = new MoodscoreOscClient("127.0.0.1", int.Parse(args[0], CultureInfo.InvariantCulture));
        ws = new MoodscoreWebSocketClient("127.0.0.1", int.Parse(args[1], CultureInfo.InvariantCulture));
        ws.ReconnectDelay = TimeSpan.FromSeconds(0.1);
        ws.Connected += () => Emit("{\"event\":\"connected\"}");
        ws.Disconnected += err => Emit("{\"event\":\"disconnected\",\"message\":" + Json.Quote(err.Message) + "}");
        ws.Beat += b => Emit(BeatJson("beat", b));
        ws.Bar += b => Emit(BeatJson("bar", b));
        ws.Phrase += p => Emit("{\"event\":\"phrase\",\"index\":" + p.Index + ",\"bars\":" + p.Bars
                               + ",\"tempo\":" + Num(p.Tempo) + ",\"notes\":" + p.Notes.Count
                               + ",\"abc_chars\":" + p.Abc.Length
                               + ",\"mood\":" + (p.HasMood ? "[" + Num(p.Valence) + "," + Num(p.Arousal) + "]" : "null")
                               + "}");
        ws.Refused += why => Emit("{\"event\":\"refused\",\"error\":" + Json.Quote(why) + "}");
        ws.Problem += err => Emit("{\"event\":\"problem\",\"type\":" + Json.Quote(err.GetType().Name)
                                  + ",\"message\":" + Json.Quote(err.Message) + "}");

        int n = 0;
        string line;
        while ((line = Console.In.ReadLine()) != null)
        {
            string[] words = line.Trim().Split((char[])null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) continue;
            n++;
            if (words[0] == "quit") break;
            try
            {
                string result = Run(words).GetAwaiter().GetResult();
                Emit("{\"done\":" + n + (result ?? "") + "}");
            }
            catch (Exception err)
            {
                Emit("{\"done\":" + n + ",\"exception\":" + Json.Quote(err.GetType().Name)
                     + ",\"message\":" + Json.Quote(err.Message) + "}");
            }
        }
        ws.CloseAsync().GetAwaiter().GetResult();
        osc.Dispose();
        return 0;
    }

    static async Task<string> Run(string[] w)
    {
        switch (w[0])
        {
            case "osc":
                Call(osc, w);
                return null;
            case "ws":
                MoodscoreReply reply = await CallAsync(w).ConfigureAwait(false);
                return ",\"reply\":" + Json.Quote(reply.IsAck ? "ack" : "error")
                       + (reply.IsAck ? "" : ",\"error\":" + Json.Quote(reply.Error));
            case "connect":
                var events = w.Length > 1
                    ? (MoodscoreEvents)Enum.Parse(typeof(MoodscoreEvents), w[1])
                    : MoodscoreEvents.All;
                await ws.ConnectAsync().ConfigureAwait(false);
                MoodscoreReply subscribed = await ws.SubscribeAsync(events).ConfigureAwait(false);
                return ",\"reply\":" + Json.Quote(subscribed.ToString());
            case "encode":
                return ",\"hex\":\"" + Hex(Encode(w)) + "\"";
            case "throttle":
                return ",\"sent\":[" + Throttle(w) + "]";
            case "close":
                await ws.CloseAsync().ConfigureAwait(false);
                return null;
            default:
                throw new ArgumentException("unknown command " + w[0]);
        }
    }

    // the IMoodscoreClient face, as MoodscoreEmitter uses it
    static void Call(IMoodscoreClient client, string[] w)
    {
        switch (Arg(w, 1))
        {
            case "va":
                client.SendVA(F(w, 2), F(w, 3), w.Length > 4 ? F(w, 4) : (float?)null);
                break;
            case "valence": client.SendValence(F(w, 2)); break;
            case "arousal": client.SendArousal(F(w, 2)); break;
            case "stinger": client.SendStinger(Arg(w, 2)); break;
            case "transition": client.SendTransition(Arg(w, 2)); break;
            case "tempo": client.SendTempo(F(w, 2)); break;
            case "intensity": client.SendIntensity(F(w, 2), w.Length > 3 ? F(w, 3) : (float?)null); break;
            case "style": client.SendStyle(Arg(w, 2)); break;
            case "play": client.Play(); break;
            case "stop":
                if (w.Length > 2) client.SendStop(Nullable(w[2]));
                else client.Stop();
                break;
            case "theme": client.SendTheme(Decoded(w, 2)); break;
            default: throw new ArgumentException("unknown method " + w[1]);
        }
    }

    // the awaitable face of the WebSocket client, which returns the engine's reply
    static Task<MoodscoreReply> CallAsync(string[] w)
    {
        switch (Arg(w, 1))
        {
            case "va": return ws.SendVAAsync(F(w, 2), F(w, 3), w.Length > 4 ? F(w, 4) : (float?)null);
            case "valence": return ws.SendValenceAsync(F(w, 2));
            case "arousal": return ws.SendArousalAsync(F(w, 2));
            case "stinger": return ws.SendStingerAsync(Arg(w, 2));
            case "transition": return ws.SendTransitionAsync(Arg(w, 2));
            case "tempo": return ws.SendTempoAsync(F(w, 2));
            case "intensity": return ws.SendIntensityAsync(F(w, 2), w.Length > 3 ? F(w, 3) : (float?)null);
            case "style": return ws.SendStyleAsync(Arg(w, 2));
            case "play": return ws.PlayAsync();
            case "stop": return w.Length > 2 ? ws.SendStopAsync(Nullable(w[2])) : ws.StopAsync();
            case "theme": return ws.SendThemeAsync(Decoded(w, 2));
            case "raw": return ws.SendJsonAsync(string.Join(" ", w, 2, w.Length - 2));
            default: throw new ArgumentException("unknown method " + w[1]);
        }
    }

    static byte[] Encode(string[] w)
    {
        string types = Arg(w, 2) == "-" ? "" : w[2];
        if (w.Length != 3 + types.Length) throw new ArgumentException("encode: one argument per type");
        var values = new object[types.Length];
        for (int i = 0; i < types.Length; i++)
        {
            string text = w[3 + i];
            switch (types[i])
            {
                case 'f': values[i] = float.Parse(text, CultureInfo.InvariantCulture); break;
                case 'i': values[i] = int.Parse(text, CultureInfo.InvariantCulture); break;
                case 's': values[i] = text; break;
                default: throw new ArgumentException("encode: types are f, i, s");
            }
        }
        return Osc.Message(w[1], values);
    }

    static string Throttle(string[] w)
    {
        var throttle = new MoodThrottle(double.Parse(Arg(w, 1), CultureInfo.InvariantCulture));
        var sent = new StringBuilder();
        for (int i = 2; i < w.Length; i++)
        {
            if (w[i] == "reset")
            {
                throttle.Reset();
                continue;
            }
            string[] frame = w[i].Split(',');
            if (throttle.ShouldSend(float.Parse(frame[1], CultureInfo.InvariantCulture),
                                    float.Parse(frame[2], CultureInfo.InvariantCulture),
                                    double.Parse(frame[0], CultureInfo.InvariantCulture)))
                sent.Append(sent.Length > 0 ? "," : "").Append(i - 2);
        }
        return sent.ToString();
    }

    static string Arg(string[] w, int i)
    {
        if (i >= w.Length) throw new ArgumentException(w[0] + ": missing argument " + i);
        return w[i];
    }

    static string Nullable(string word)
    {
        return word == "null" ? null : word;
    }

    // percent-encoded text ("%0A" a newline; "-" alone the empty string)
    static string Decoded(string[] w, int i)
    {
        string word = Arg(w, i);
        return word == "-" ? "" : Uri.UnescapeDataString(word);
    }

    static float F(string[] w, int i)
    {
        return float.Parse(Arg(w, i), CultureInfo.InvariantCulture);
    }

    static string BeatJson(string kind, BeatInfo b)
    {
        return "{\"event\":\"" + kind + "\",\"is_bar\":" + (b.IsBar ? "true" : "false") + ",\"bar\":" + b.Bar
               + ",\"beat\":" + b.Beat + ",\"tempo\":" + Num(b.Tempo) + ",\"time\":" + Num(b.Time) + "}";
    }

    static string Num(double value)
    {
        return value.ToString("R", CultureInfo.InvariantCulture);
    }

    static string Hex(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (byte b in bytes) sb.Append(b.ToString("x2"));
        return sb.ToString();
    }

    static void Emit(string json)
    {
        lock (Out)
        {
            Console.Out.WriteLine(json);
            Console.Out.Flush();
        }
    }
}
