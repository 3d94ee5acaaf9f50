// Just enough JSON for the protocol, with no dependency: a writer for the small flat messages
// the client sends, and a strict reader (RFC 8259) for what the engine sends back. Values read
// become Dictionary<string, object>, List<object>, string, double, bool or null.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Moodscore
{
    /// <summary>Reads and writes the JSON of the engine's WebSocket protocol.</summary>
    public static class Json
    {
        public const int MaxDepth = 64;

        // --- writing -------------------------------------------------------------------------

        /// <summary>A float as a JSON number; the shortest text that reads back to the same float.</summary>
        public static string Number(float value)
        {
            if (float.IsNaN(value) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException("value", value, "JSON numbers must be finite");
            return value.ToString("R", CultureInfo.InvariantCulture);
        }

        /// <summary>A string as a quoted JSON string.</summary>
        public static string Quote(string text)
        {
            var sb = new StringBuilder(text.Length + 2);
            sb.Append('"');
            foreach (char c in text)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            return sb.Append('"').ToString();
        }

        // --- reading -------------------------------------------------------------------------

        /// <summary>Parses one JSON value; <see cref="FormatException"/> saying where it went wrong.</summary>
        public static object Parse(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            var reader = new Reader(text);
            object value = reader.Value(0);
            reader.SkipSpace();
            if (!reader.AtEnd) throw reader.Fail("unexpected text after the value");
            return value;
        }

        /// <summary>Parses a JSON object.</summary>
        public static Dictionary<string, object> ParseObject(string text)
        {
            var obj = Parse(text) as Dictionary<string, object>;
            if (obj == null) throw new FormatException("expected a JSON object");
            return obj;
        }

        sealed class Reader
        {
            readonly string text;
            int pos;

            public Reader(string text) { this.text = text; }

            public bool AtEnd { get { return pos >= text.Length; } }

            public FormatException Fail(string why)
            {
                return new FormatException("bad JSON at character " + pos + ": " + why);
            }

            public void SkipSpace()
            {
                while (pos < text.Length && (text[pos] == ' ' || text[pos] == '\t'
                                             || text[pos] == '\n' || text[pos] == '\r'))
                    pos++;
            }

            public object Value(int depth)
            {
                if (depth > MaxDepth) throw Fail("nested deeper than " + MaxDepth);
                SkipSpace();
                if (AtEnd) throw Fail("unexpected end");
                char c = text[pos];
                switch (c)
                {
                    case '{': return Object(depth);
                    case '[': return Array(depth);
                    case '"': return String();
                    case 't': Word("true"); return true;
                    case 'f': Word("false"); return false;
                    case 'n': Word("null"); return null;
                    default:
                        if (c == '-' || (c >= '0' && c <= '9')) return Number();
                        throw Fail("unexpected '" + c + "'");
                }
            }

            Dictionary<string, object> Object(int depth)
            {
                var obj = new Dictionary<string, object>();
                pos++;  // {
                SkipSpace();
                if (pos < text.Length && text[pos] == '}') { pos++; return obj; }
                while (true)
                {
                    SkipSpace();
                    if (AtEnd || text[pos] != '"') throw Fail("expected a string key");
                    string key = String();
                    SkipSpace();
                    Expect(':');
                    obj[key] = Value(depth + 1);
                    SkipSpace();
                    if (AtEnd) throw Fail("unexpected end in an object");
                    if (text[pos] == ',') { pos++; continue; }
                    Expect('}');
                    return obj;
                }
            }

            List<object> Array(int depth)
            {
                var list = new List<object>();
                pos++;  // [
                SkipSpace();
                if (pos < text.Length && text[pos] == ']') { pos++; return list; }
                while (true)
                {
                    list.Add(Value(depth + 1));
                    SkipSpace();
                    if (AtEnd) throw Fail("unexpected end in an array");
                    if (text[pos] == ',') { pos++; continue; }
                    Expect(']');
                    return list;
                }
            }

            string String()
            {
                pos++;  // opening quote
                var sb = new StringBuilder();
                while (true)
                {
                    if (AtEnd) throw Fail("unterminated string");
                    char c = text[pos++];
                    if (c == '"') return sb.ToString();
                    if (c < 0x20) throw Fail("control character in a string");
                    if (c != '\\') { sb.Append(c); continue; }
                    if (AtEnd) throw Fail("unterminated escape");
                    char e = text[pos++];
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            int code;
                            if (pos + 4 > text.Length || !int.TryParse(text.Substring(pos, 4),
                                    NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                                throw Fail("bad \\u escape");
                            sb.Append((char)code);  // surrogate pairs arrive as two escapes
                            pos += 4;
                            break;
                        default: throw Fail("bad escape '\\" + e + "'");
                    }
                }
            }

            double Number()
            {
                int start = pos;
                if (text[pos] == '-') pos++;
                if (AtEnd || !IsDigit(text[pos])) throw Fail("expected a digit");
                if (text[pos] == '0') pos++;
                else Digits();
                if (pos < text.Length && text[pos] == '.')
                {
                    pos++;
                    if (AtEnd || !IsDigit(text[pos])) throw Fail("expected a digit after '.'");
                    Digits();
                }
                if (pos < text.Length && (text[pos] == 'e' || text[pos] == 'E'))
                {
                    pos++;
                    if (pos < text.Length && (text[pos] == '+' || text[pos] == '-')) pos++;
                    if (AtEnd || !IsDigit(text[pos])) throw Fail("expected a digit in the exponent");
                    Digits();
                }
                try
                {
                    return double.Parse(text.Substring(start, pos - start), NumberStyles.Float,
                                        CultureInfo.InvariantCulture);
                }
                catch (OverflowException)  // .NET Framework and Mono; .NET Core gives infinity
                {
                    throw Fail("number out of range");
                }
            }

            void Digits()
            {
                while (pos < text.Length && IsDigit(text[pos])) pos++;
            }

            static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

            void Word(string word)
            {
                if (string.CompareOrdinal(text, pos, word, 0, word.Length) != 0) throw Fail("expected " + word);
                pos += word.Length;
            }

            void Expect(char c)
            {
                if (AtEnd || text[pos] != c) throw Fail("expected '" + c + "'");
                pos++;
            }
        }
    }
}
