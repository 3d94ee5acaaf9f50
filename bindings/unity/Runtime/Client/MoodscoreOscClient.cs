// The OSC transport: one UDP datagram per message, fire and forget. The engine answers OSC
// with nothing, so a refused value is only logged there; this client checks every value first.
using System;
using System.Net;
using System.Net.Sockets;

namespace Moodscore
{
    /// <summary>Sends the engine's OSC messages (/mood/va, /mood/stinger, ...) over UDP.</summary>
    public sealed class MoodscoreOscClient : IMoodscoreClient
    {
        readonly UdpClient udp;
        readonly IPEndPoint engine;

        /// <summary>An OSC client for the engine at <paramref name="host"/>:<paramref name="port"/>
        /// (moodscore serve's --osc-host and --osc-port; 127.0.0.1:9000 by default).</summary>
        public MoodscoreOscClient(string host = "127.0.0.1", int port = 9000)
        {
            if (port < 1 || port > 65535)
                throw new ArgumentOutOfRangeException("port", port, "port must be in [1, 65535]");
            IPAddress address;
            if (!IPAddress.TryParse(host, out address))
            {
                IPAddress[] found = Dns.GetHostAddresses(host);
                address = Array.Find(found, a => a.AddressFamily == AddressFamily.InterNetwork)
                          ?? (found.Length > 0 ? found[0] : null);
                if (address == null)
                    throw new ArgumentException("host \"" + host + "\" has no address", "host");
            }
            engine = new IPEndPoint(address, port);
            udp = new UdpClient(address.AddressFamily);
        }

        public IPEndPoint Engine { get { return engine; } }

        public void SendVA(float valence, float arousal, float? glide = null)
        {
            MoodInput.Axis("valence", valence);
            MoodInput.Axis("arousal", arousal);
            if (MoodInput.Glide(glide).HasValue)
                Send(Osc.Message("/mood/va", valence, arousal, glide.Value));
            else
                Send(Osc.Message("/mood/va", valence, arousal));
        }

        public void SendValence(float valence)
        {
            Send(Osc.Message("/mood/valence", MoodInput.Axis("valence", valence)));
        }

        public void SendArousal(float arousal)
        {
            Send(Osc.Message("/mood/arousal", MoodInput.Axis("arousal", arousal)));
        }

        public void SendStinger(string name)
        {
            Send(Osc.Message("/mood/stinger", MoodInput.Stinger(name)));
        }

        public void SendTransition(string mode)
        {
            Send(Osc.Message("/mood/transition", MoodInput.Transition(mode)));
        }

        public void SendTransition(TransitionMode mode)
        {
            Send(Osc.Message("/mood/transition", MoodInput.Transition(mode)));
        }

        public void SendTempo(float bpm)
        {
            Send(Osc.Message("/mood/tempo", MoodInput.Bpm(bpm)));
        }

        public void SendIntensity(float intensity, float? glide = null)
        {
            MoodInput.Intensity(intensity);
            if (MoodInput.Glide(glide).HasValue)
                Send(Osc.Message("/mood/intensity", intensity, glide.Value));
            else
                Send(Osc.Message("/mood/intensity", intensity));
        }

        public void SendStyle(string name)
        {
            Send(Osc.Message("/mood/style", MoodInput.Style(name)));
        }

        /// <summary>The theme goes in one datagram, as every OSC message: as UTF-8 it must fit
        /// the engine's 8192-byte datagram (send a longer theme over the WebSocket).</summary>
        public void SendTheme(string abc)
        {
            Send(MoodInput.ThemeDatagram(Osc.Message("/mood/theme", MoodInput.Theme(abc))));
        }

        public void SendStop(string at = null)
        {
            if (MoodInput.StopAt(at) == null)
                Send(Osc.Message("/mood/stop"));
            else
                Send(Osc.Message("/mood/stop", at));
        }

        public void Play()
        {
            Send(Osc.Message("/mood/play"));
        }

        public void Stop()
        {
            Send(Osc.Message("/mood/stop"));
        }

        /// <summary>Sends an encoded OSC packet as it is (see <see cref="Osc.Message"/>).</summary>
        public void Send(byte[] packet)
        {
            try
            {
                udp.Send(packet, packet.Length, engine);
            }
            catch (SocketException err)
            {
                throw new MoodscoreConnectionException("cannot send OSC to " + engine + ": " + err.Message, err);
            }
        }

        public void Dispose()
        {
            udp.Close();
        }
    }
}
