// The engine's rendered music (moodscore serve --ws-audio) for a game to play through its own
// audio: AudioFrame decodes one binary frame, AudioJitterBuffer holds the samples between the
// network and the audio thread, and MoodscoreAudioStream is the connection that fills it.
// Frame layout (little-endian): "MSA1", uint32 rate, uint16 channels, uint16 flags,
// uint64 index of the first sample frame, float64 its music time (the engine clock of the
// beat/bar/phrase events' Time), uint32 frames, then int16 samples, interleaved.
using System;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Moodscore
{
    /// <summary>One block of the engine's audio.</summary>
    public struct AudioFrame
    {
        public const int HeaderBytes = 32;
        public int Rate;
        public int Channels;
        public long Index;        // of the first sample frame since the stream began
        public double MusicTime;  // engine clock seconds of the first sample
        public float[] Samples;   // interleaved, -1..1

        public int Frames { get { return Samples.Length / Channels; } }

        /// <summary>Decodes <paramref name="count"/> bytes of <paramref name="data"/>; throws
        /// FormatException when they are not an audio frame.</summary>
        public static AudioFrame Decode(byte[] data, int count)
        {
            if (count < HeaderBytes || data[0] != 'M' || data[1] != 'S' || data[2] != 'A' || data[3] != '1')
                throw new FormatException("not a moodscore audio frame (no MSA1 header)");
            var frame = new AudioFrame();
            frame.Rate = (int)BitConverter.ToUInt32(data, 4);
            frame.Channels = BitConverter.ToUInt16(data, 8);
            frame.Index = (long)BitConverter.ToUInt64(data, 12);
            frame.MusicTime = BitConverter.ToDouble(data, 20);
            int frames = (int)BitConverter.ToUInt32(data, 28);
            if (frame.Channels < 1 || count != HeaderBytes + frames * frame.Channels * 2)
                throw new FormatException("audio frame of " + count + " bytes does not hold " + frames +
                                          " frames of " + frame.Channels + " channels");
            frame.Samples = new float[frames * frame.Channels];
            for (int i = 0; i < frame.Samples.Length; i++)
                frame.Samples[i] = BitConverter.ToInt16(data, HeaderBytes + 2 * i) / 32768f;
            return frame;
        }
    }

    /// <summary>Samples between the network (Write) and the audio thread (Read), stereo.
    /// Reading starts once <see cref="TargetSeconds"/> are buffered and keeps about that much
    /// ahead: a late frame then costs nothing, an early one waits. Frames lost on the way leave
    /// silence in their place (their index says where); an empty buffer plays silence and is
    /// counted, then refills to the target. Paused, nothing is read and old audio is dropped,
    /// so resuming plays the music as it is now, not what was missed.</summary>
    public sealed class AudioJitterBuffer
    {
        readonly object gate = new object();
        readonly float[] ring;  // stereo frames, interleaved
        long writeIndex = -1;   // stream index of the next frame to be written
        long readIndex;         // stream index of the next frame to be read
        double position;        // fractional read position when rates differ
        double musicTimeAt0;    // music time of stream index 0
        int rate = 48000;
        bool playing;
        bool paused;

        public AudioJitterBuffer(double capacitySeconds = 2.0, double targetSeconds = 0.1)
        {
            ring = new float[2 * (int)(capacitySeconds * 48000)];
            TargetSeconds = targetSeconds;
        }

        public double TargetSeconds { get; set; }
        public int Underruns { get; private set; }   // times the buffer ran dry while playing
        public long LostFrames { get; private set; } // sample frames that never arrived
        public long DroppedFrames { get; private set; } // overwritten before they were read
        public int Rate { get { lock (gate) return rate; } }

        /// <summary>Sample frames buffered ahead of the reader.</summary>
        public long Buffered { get { lock (gate) return writeIndex < 0 ? 0 : writeIndex - readIndex; } }

        /// <summary>The music time (engine clock) of the next sample to be read.</summary>
        public double MusicTime { get { lock (gate) return musicTimeAt0 + (readIndex + position) / rate; } }

        public bool Paused
        {
            get { lock (gate) return paused; }
            set { lock (gate) { paused = value; if (value) playing = false; } }
        }

        public void Write(AudioFrame frame)
        {
            if (frame.Channels != 2) throw new ArgumentException("the engine streams stereo");
            lock (gate)
            {
                int frames = frame.Frames;
                int capacity = ring.Length / 2;
                if (writeIndex < 0 || frame.Index < writeIndex - capacity || frame.Rate != rate)
                {   // the first frame, or a new stream: start over from here
                    rate = frame.Rate;
                    writeIndex = readIndex = frame.Index;
                    position = 0;
                    playing = false;
                }
                if (frame.Index + frames <= writeIndex) return;  // already here (a repeat)
                musicTimeAt0 = frame.MusicTime - (double)frame.Index / rate;
                for (long i = writeIndex; i < frame.Index; i++) Put(i, 0f, 0f);  // lost: silence
                LostFrames += Math.Max(0, frame.Index - writeIndex);
                for (int f = 0; f < frames; f++)
                    Put(frame.Index + f, frame.Samples[2 * f], frame.Samples[2 * f + 1]);
                writeIndex = frame.Index + frames;
                if (paused || writeIndex - readIndex > capacity)
                {   // the reader is away or too slow: keep only the target's worth
                    long keep = paused ? (long)(TargetSeconds * rate) : capacity;
                    long from = writeIndex - keep;
                    if (from > readIndex) { DroppedFrames += from - readIndex; readIndex = from; position = 0; }
                }
            }
        }

        void Put(long index, float left, float right)
        {
            int at = (int)(index % (ring.Length / 2)) * 2;
            ring[at] = left;
            ring[at + 1] = right;
        }

        /// <summary>Fills <paramref name="data"/> (interleaved, <paramref name="channels"/> per
        /// frame, at <paramref name="outputRate"/> Hz) from the buffer; silence while filling.</summary>
        public void Read(float[] data, int channels, int outputRate)
        {
            lock (gate)
            {
                int frames = data.Length / channels;
                double step = (double)rate / outputRate;
                long target = (long)(TargetSeconds * rate);
                if (!playing && !paused && writeIndex >= 0 && writeIndex - readIndex >= target)
                    playing = true;
                if (!playing)
                {
                    Array.Clear(data, 0, data.Length);
                    return;
                }
                int capacity = ring.Length / 2;
                for (int f = 0; f < frames; f++)
                {
                    if (readIndex + 1 >= writeIndex)
                    {
                        Array.Clear(data, f * channels, (frames - f) * channels);
                        Underruns++;
                        playing = false;
                        return;
                    }
                    int a = (int)(readIndex % capacity) * 2, b = (int)((readIndex + 1) % capacity) * 2;
                    float w = (float)position;
                    float left = ring[a] + (ring[b] - ring[a]) * w;
                    float right = ring[a + 1] + (ring[b + 1] - ring[a + 1]) * w;
                    int o = f * channels;
                    if (channels == 1) data[o] = 0.5f * (left + right);
                    else
                    {
                        data[o] = left;
                        data[o + 1] = right;
                        for (int c = 2; c < channels; c++) data[o + c] = 0f;
                    }
                    position += step;
                    long whole = (long)position;
                    readIndex += whole;
                    position -= whole;
                }
            }
        }
    }

    /// <summary>Subscribes to the engine's audio and writes each frame into <see cref="Buffer"/>;
    /// reconnects after a drop. Runs on a background task.</summary>
    public sealed class MoodscoreAudioStream : IDisposable
    {
        readonly Uri uri;
        readonly CancellationTokenSource stopping = new CancellationTokenSource();
        Task reader;

        public MoodscoreAudioStream(string host = "127.0.0.1", int port = 8765, AudioJitterBuffer buffer = null)
        {
            uri = new Uri("ws://" + host + ":" + port + "/");
            Buffer = buffer ?? new AudioJitterBuffer();
        }

        public AudioJitterBuffer Buffer { get; private set; }
        public long FramesReceived { get; private set; }
        /// <summary>What went wrong last (a refused subscribe, a dropped connection), or null.</summary>
        public string Problem { get; private set; }

        public void Start()
        {
            if (reader == null) reader = Task.Run(() => Run(stopping.Token));
        }

        async Task Run(CancellationToken token)
        {
            var bytes = new byte[1 << 20];
            while (!token.IsCancellationRequested)
            {
                try
                {
                    using (var socket = new ClientWebSocket())
                    {
                        await socket.ConnectAsync(uri, token).ConfigureAwait(false);
                        var subscribe = Encoding.UTF8.GetBytes("{\"type\":\"subscribe\",\"events\":[\"audio\"]}");
                        await socket.SendAsync(new ArraySegment<byte>(subscribe), WebSocketMessageType.Text, true, token)
                            .ConfigureAwait(false);
                        while (socket.State == WebSocketState.Open && !token.IsCancellationRequested)
                        {
                            int count = 0;
                            WebSocketReceiveResult result;
                            do
                            {
                                if (count == bytes.Length) throw new InvalidOperationException("audio frame too big");
                                result = await socket.ReceiveAsync(new ArraySegment<byte>(bytes, count, bytes.Length - count), token)
                                    .ConfigureAwait(false);
                                count += result.Count;
                            } while (!result.EndOfMessage);
                            if (result.MessageType == WebSocketMessageType.Close) break;
                            if (result.MessageType == WebSocketMessageType.Binary)
                            {
                                Buffer.Write(AudioFrame.Decode(bytes, count));
                                FramesReceived++;
                            }
                            else if (Encoding.UTF8.GetString(bytes, 0, count).Contains("\"error\""))
                                Problem = Encoding.UTF8.GetString(bytes, 0, count);
                        }
                    }
                }
                catch (OperationCanceledException) { return; }
                catch (Exception err) { Problem = err.Message; }
                try { await Task.Delay(500, token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }

        public void Dispose()
        {
            stopping.Cancel();
            try { if (reader != null) reader.Wait(2000); }
            catch (AggregateException) { }
        }
    }
}
