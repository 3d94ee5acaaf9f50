// Plays what MoodscoreAudio would play, without Unity: the engine's audio stream into the
// jitter buffer, read as Unity's audio thread would (1024-frame blocks at 48 kHz, paced by a
// clock), written to a 16-bit WAV. Arguments: ws-port seconds out.wav. Prints one JSON line:
// the music time of the WAV's first sample and the system clock (Unix ms) when it was read,
// underruns, lost and dropped frames.
using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Moodscore;

static class AudioHarness
{
    static int Main(string[] args)
    {
        int port = int.Parse(args[0]);
        double seconds = double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        var buffer = new AudioJitterBuffer(2.0, 0.2);
        using (var stream = new MoodscoreAudioStream("127.0.0.1", port, buffer))
        {
            stream.Start();
            var wait = Stopwatch.StartNew();
            while (buffer.Buffered < 0.2 * 48000)
            {
                if (wait.Elapsed.TotalSeconds > 20) { Console.WriteLine("{\"error\":\"no audio: " + stream.Problem + "\"}"); return 1; }
                Thread.Sleep(5);
            }
            double musicTime = buffer.MusicTime;
            int blocks = (int)(seconds * 48000 / 1024);
            var block = new float[2 * 1024];
            var pcm = new short[2 * 1024 * blocks];
            var clock = Stopwatch.StartNew();
            double unixMs = (DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalMilliseconds;
            for (int n = 0; n < blocks; n++)
            {
                double due = n * 1024 / 48000.0;
                while (clock.Elapsed.TotalSeconds < due) Thread.Sleep(1);
                buffer.Read(block, 2, 48000);
                for (int i = 0; i < block.Length; i++)
                    pcm[n * block.Length + i] = (short)Math.Max(-32768, Math.Min(32767, Math.Round(block[i] * 32768)));
            }
            WriteWav(args[2], pcm);
            Console.WriteLine("{\"music_time\":" + musicTime.ToString("R", System.Globalization.CultureInfo.InvariantCulture) +
                              ",\"system_ms\":" + unixMs.ToString("R", System.Globalization.CultureInfo.InvariantCulture) +
                              ",\"underruns\":" + buffer.Underruns + ",\"lost\":" + buffer.LostFrames +
                              ",\"dropped\":" + buffer.DroppedFrames + ",\"frames\":" + stream.FramesReceived + "}");
        }
        return 0;
    }

    static void WriteWav(string path, short[] pcm)
    {
        using (var w = new BinaryWriter(File.Create(path)))
        {
            int bytes = pcm.Length * 2;
            w.Write(new[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F' }); w.Write(36 + bytes);
            w.Write(new[] { (byte)'W', (byte)'A', (byte)'V', (byte)'E', (byte)'f', (byte)'m', (byte)'t', (byte)' ' });
            w.Write(16); w.Write((short)1); w.Write((short)2); w.Write(48000); w.Write(48000 * 4);
            w.Write((short)4); w.Write((short)16);
            w.Write(new[] { (byte)'d', (byte)'a', (byte)'t', (byte)'a' }); w.Write(bytes);
            foreach (short s in pcm) w.Write(s);
        }
    }
}
