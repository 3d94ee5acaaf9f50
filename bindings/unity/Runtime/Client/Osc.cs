// OSC 1.0 message encoding, as the specification has it: the address and the type-tag string
// are NUL-terminated and padded with NULs to a multiple of 4 bytes, then each argument in
// big-endian order (int32 'i', float32 'f', padded string 's'). Pure: no sockets.
using System;
using System.IO;
using System.Text;

namespace Moodscore
{
    /// <summary>Encodes OSC 1.0 messages with int, float and string arguments.</summary>
    public static class Osc
    {
        /// <summary>One OSC message: <paramref name="address"/> (starting with '/') and its
        /// arguments, each an <c>int</c>, a <c>float</c> or a <c>string</c>.</summary>
        public static byte[] Message(string address, params object[] args)
        {
            if (address == null || address.Length == 0 || address[0] != '/')
                throw new ArgumentException("OSC address must start with '/', got "
                                            + (address == null ? "null" : "\"" + address + "\""), "address");
            args = args ?? new object[0];
            var tags = new StringBuilder(",", args.Length + 1);
            foreach (object arg in args)
            {
                if (arg is float) tags.Append('f');
                else if (arg is int) tags.Append('i');
                else if (arg is string) tags.Append('s');
                else
                    throw new ArgumentException("OSC arguments must be float, int or string, got "
                                                + (arg == null ? "null" : arg.GetType().Name), "args");
            }
            using (var stream = new MemoryStream())
            {
                WriteString(stream, address);
                WriteString(stream, tags.ToString());
                foreach (object arg in args)
                {
                    if (arg is float) WriteInt32(stream, FloatBits((float)arg));
                    else if (arg is int) WriteInt32(stream, (int)arg);
                    else WriteString(stream, (string)arg);
                }
                return stream.ToArray();
            }
        }

        static void WriteString(Stream stream, string text)
        {
            if (text.IndexOf('\0') >= 0)
                throw new ArgumentException("OSC strings cannot contain NUL characters", "text");
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            stream.Write(bytes, 0, bytes.Length);
            int padding = 4 - bytes.Length % 4;  // 1 to 4: at least one NUL terminates it
            for (int i = 0; i < padding; i++)
                stream.WriteByte(0);
        }

        static void WriteInt32(Stream stream, int value)
        {
            stream.WriteByte((byte)(value >> 24));
            stream.WriteByte((byte)(value >> 16));
            stream.WriteByte((byte)(value >> 8));
            stream.WriteByte((byte)value);
        }

        static int FloatBits(float value)
        {
            // BitConverter.SingleToInt32Bits is missing from .NET Framework 4.x and Mono's profile
            return BitConverter.ToInt32(BitConverter.GetBytes(value), 0);
        }
    }
}
