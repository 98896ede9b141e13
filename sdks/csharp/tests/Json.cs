// A minimal JSON reader for the shared test-vector files: objects keep their key order,
// numbers keep their text (so 128-bit integers lose no precision).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace SpacetimeDB.Tests
{
    /// <summary>A JSON number, as written.</summary>
    public sealed class JsonNumber
    {
        /// <summary>The literal text.</summary>
        public readonly string Text;
        /// <summary>Wraps a literal.</summary>
        public JsonNumber(string text) { Text = text; }
        /// <inheritdoc/>
        public override string ToString() { return Text; }
    }

    /// <summary>Parses JSON into Dictionary (ordered list of pairs), List, string, JsonNumber, bool and null.</summary>
    public sealed class Json
    {
        readonly string s;
        int i;

        Json(string s) { this.s = s; }

        /// <summary>Parses a whole document.</summary>
        public static object Parse(string text)
        {
            var p = new Json(text);
            var v = p.Value();
            p.Ws();
            if (p.i != text.Length) throw new FormatException("trailing text at " + p.i);
            return v;
        }

        void Ws() { while (i < s.Length && char.IsWhiteSpace(s[i])) i++; }

        void Expect(char c)
        {
            Ws();
            if (i >= s.Length || s[i] != c) throw new FormatException("expected '" + c + "' at " + i);
            i++;
        }

        object Value()
        {
            Ws();
            char c = s[i];
            if (c == '{')
            {
                i++;
                var obj = new List<KeyValuePair<string, object>>();
                Ws();
                if (s[i] == '}') { i++; return obj; }
                while (true)
                {
                    Ws();
                    var key = Str();
                    Expect(':');
                    obj.Add(new KeyValuePair<string, object>(key, Value()));
                    Ws();
                    if (s[i++] == '}') return obj;
                }
            }
            if (c == '[')
            {
                i++;
                var arr = new List<object>();
                Ws();
                if (s[i] == ']') { i++; return arr; }
                while (true)
                {
                    arr.Add(Value());
                    Ws();
                    if (s[i++] == ']') return arr;
                }
            }
            if (c == '"') return Str();
            if (s.Substring(i).StartsWith("true")) { i += 4; return true; }
            if (s.Substring(i).StartsWith("false")) { i += 5; return false; }
            if (s.Substring(i).StartsWith("null")) { i += 4; return null; }
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0) i++;
            if (start == i) throw new FormatException("unexpected '" + c + "' at " + i);
            return new JsonNumber(s.Substring(start, i - start));
        }

        string Str()
        {
            if (s[i] != '"') throw new FormatException("expected a string at " + i);
            i++;
            var sb = new StringBuilder();
            while (s[i] != '"')
            {
                char c = s[i++];
                if (c != '\\') { sb.Append(c); continue; }
                char e = s[i++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u': sb.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber)); i += 4; break;
                    default: sb.Append(e); break;
                }
            }
            i++;
            return sb.ToString();
        }

        /// <summary>The value of <paramref name="key"/> in a parsed object.</summary>
        public static object Get(object obj, string key)
        {
            foreach (var kv in (List<KeyValuePair<string, object>>)obj) if (kv.Key == key) return kv.Value;
            throw new KeyNotFoundException(key);
        }
    }
}
