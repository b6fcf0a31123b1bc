using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats;

/// <summary>
/// One message's JSON read once with <see cref="Utf8JsonReader"/> into arrays the decoder reuses: a token per value or
/// property name, each container knowing where its subtree ends. Sensor formats whose fields vary by version look
/// fields up by name in any order (<see cref="JsonNode"/>) without a <see cref="JsonDocument"/> per message; string
/// values come from an intern cache, so a node repeating the same pods, rules and binaries allocates nothing.
/// Not thread-safe: one tape per decoder, as each consumer has its own decoders.
/// </summary>
internal sealed class JsonTape(Utf8StringCache strings)
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow };

    private const int MaxDepth = 64;

    // A hostile message may need large arrays; they are kept only up to these sizes, so one flood message is no
    // lasting cost. A typical sensor message is 1-4 KB and 100-300 tokens.
    private const int KeptBytes = 256 * 1024;
    private const int KeptTokens = 16 * 1024;

    private readonly int[] _open = new int[MaxDepth + 2];
    private byte[] _bytes = new byte[8192];
    private Token[] _tokens = new Token[512];
    private int _count;

    /// <summary>Property names are tokens too; this marks them (it is no <see cref="JsonValueKind"/>).</summary>
    internal const JsonValueKind PropertyName = (JsonValueKind)100;

    private struct Token
    {
        public JsonValueKind Kind;

        /// <summary>Where the value's bytes are in <see cref="_bytes"/>: unescaped text for strings and names, the raw text otherwise.</summary>
        public int Start, Length;

        /// <summary>The index after this value's subtree (the next sibling).</summary>
        public int End;

        /// <summary>Strings only: the text had escapes and was unescaped after the message (no quoted original at Start - 1).</summary>
        public bool Unescaped;
    }

    public Utf8StringCache Strings => strings;

    public JsonNode Root => new(this, 0);

    /// <summary>Reads a whole message; throws <see cref="JsonException"/> for anything that is not one JSON value.</summary>
    public void Load(ReadOnlySpan<byte> utf8)
    {
        // The message is copied so nodes can outlive the caller's span; unescaped strings go after it (never longer
        // than their escaped form, so twice the message always fits).
        if (_bytes.Length < (utf8.Length * 2) + 16 || _bytes.Length > KeptBytes)
        {
            _bytes = new byte[Math.Max(8192, (utf8.Length * 2) + 16)];
        }

        if (_tokens.Length > KeptTokens)
        {
            _tokens = new Token[512];
        }

        utf8.CopyTo(_bytes);
        var used = utf8.Length;
        _count = 0;
        var depth = 0;
        var reader = new Utf8JsonReader(_bytes.AsSpan(0, utf8.Length), Options);
        while (reader.Read())
        {
            var start = (int)reader.TokenStartIndex;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    _open[depth++] = Add(reader.TokenType == JsonTokenType.StartObject ? JsonValueKind.Object : JsonValueKind.Array, start, 0, false);
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    ref var container = ref _tokens[_open[--depth]];
                    container.End = _count;
                    container.Length = (int)reader.BytesConsumed - container.Start;
                    break;
                case JsonTokenType.PropertyName or JsonTokenType.String:
                    var kind = reader.TokenType == JsonTokenType.String ? JsonValueKind.String : PropertyName;
                    if (reader.ValueIsEscaped)
                    {
                        var n = reader.CopyString(_bytes.AsSpan(used));
                        Add(kind, used, n, true);
                        used += n;
                    }
                    else
                    {
                        Add(kind, start + 1, reader.ValueSpan.Length, false);
                    }

                    break;
                case JsonTokenType.Number:
                    Add(JsonValueKind.Number, start, reader.ValueSpan.Length, false);
                    break;
                case JsonTokenType.True:
                    Add(JsonValueKind.True, start, 4, false);
                    break;
                case JsonTokenType.False:
                    Add(JsonValueKind.False, start, 5, false);
                    break;
                case JsonTokenType.Null:
                    Add(JsonValueKind.Null, start, 4, false);
                    break;
            }
        }

        if (_count == 0)
        {
            throw new JsonException("no JSON value", null, 0, 0);
        }
    }

    private int Add(JsonValueKind kind, int start, int length, bool unescaped)
    {
        if (_count == _tokens.Length)
        {
            Array.Resize(ref _tokens, _tokens.Length * 2);
        }

        _tokens[_count] = new Token { Kind = kind, Start = start, Length = length, End = _count + 1, Unescaped = unescaped };
        return _count++;
    }

    internal JsonValueKind Kind(int i) => _tokens[i].Kind;

    internal int End(int i) => _tokens[i].End;

    internal ReadOnlySpan<byte> Bytes(int i) => _bytes.AsSpan(_tokens[i].Start, _tokens[i].Length);

    /// <summary>The string as it was in the message, quotes included, when it had no escapes; empty otherwise.</summary>
    internal ReadOnlySpan<byte> Quoted(int i) =>
        _tokens[i].Kind == JsonValueKind.String && !_tokens[i].Unescaped ? _bytes.AsSpan(_tokens[i].Start - 1, _tokens[i].Length + 2) : default;

    /// <summary>An interned string; invalid UTF-8 is a wrong value, as <see cref="JsonElement.GetString"/> treats it.</summary>
    internal string Text(int i)
    {
        var s = strings.Get(Bytes(i));
        return ReferenceEquals(s, Utf8StringCache.InvalidUtf8) ? throw new InvalidOperationException("a string is not valid UTF-8") : s;
    }
}

/// <summary>A value in a <see cref="JsonTape"/>: the few <see cref="JsonElement"/> operations sensor decoders use, without allocating.</summary>
internal readonly struct JsonNode(JsonTape tape, int index)
{
    public JsonValueKind ValueKind => tape.Kind(index);

    /// <summary>The value's UTF-8 bytes: unescaped text for a string, the raw JSON otherwise.</summary>
    public ReadOnlySpan<byte> Utf8 => tape.Bytes(index);

    /// <summary>A property by name; when a name repeats, the last one counts (as <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/>).</summary>
    public bool TryGetProperty(string name, out JsonNode value)
    {
        value = default;
        if (ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var found = -1;
        for (int i = index + 1, end = tape.End(index); i < end; i = tape.End(i + 1))
        {
            if (Ascii.Equals(tape.Bytes(i), name))
            {
                found = i + 1;
            }
        }

        value = new JsonNode(tape, found);
        return found >= 0;
    }

    /// <summary>A string's text, null for a JSON null; anything else is a wrong type (as <see cref="JsonElement.GetString"/>).</summary>
    public string? GetString() => ValueKind switch
    {
        JsonValueKind.String or JsonTape.PropertyName => tape.Text(index),
        JsonValueKind.Null => null,
        _ => throw new InvalidOperationException($"expected a string, got {ValueKind}"),
    };

    /// <summary>The raw JSON text (interned: numbers and small objects repeat).</summary>
    public string GetRawText() => tape.Strings.Get(tape.Bytes(index));

    /// <summary>As <see cref="JsonElement.ToString"/>: a string's text, raw JSON for numbers, objects and arrays.</summary>
    public override string ToString() => ValueKind switch
    {
        JsonValueKind.String => tape.Text(index),
        JsonValueKind.True => bool.TrueString,
        JsonValueKind.False => bool.FalseString,
        JsonValueKind.Null => string.Empty,
        _ => GetRawText(),
    };

    public bool TryGetInt64(out long value)
    {
        value = 0;
        var span = Utf8;
        return ValueKind == JsonValueKind.Number && Utf8Parser.TryParse(span, out value, out var used) && used == span.Length;
    }

    public bool TryGetDouble(out double value)
    {
        value = 0;
        var span = Utf8;
        return ValueKind == JsonValueKind.Number && Utf8Parser.TryParse(span, out value, out var used) && used == span.Length && double.IsFinite(value);
    }

    /// <summary>A string holding an integer (protobuf-JSON writes 64-bit integers so).</summary>
    public bool TryParseInt64Text(out long value)
    {
        value = 0;
        return ValueKind == JsonValueKind.String && long.TryParse(Utf8, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The string as the message had it, quotes included, when it had no escapes (for exact time parsing).</summary>
    public ReadOnlySpan<byte> Quoted => tape.Quoted(index);

    public int GetArrayLength()
    {
        var n = 0;
        foreach (var _ in EnumerateArray())
        {
            n++;
        }

        return n;
    }

    public JsonNode this[int i]
    {
        get
        {
            var left = i;
            foreach (var item in EnumerateArray())
            {
                if (left-- == 0)
                {
                    return item;
                }
            }

            throw new ArgumentOutOfRangeException(nameof(i), i, "past the end of the array");
        }
    }

    public ArrayEnumerator EnumerateArray() =>
        ValueKind == JsonValueKind.Array ? new ArrayEnumerator(tape, index) : throw new InvalidOperationException($"expected an array, got {ValueKind}");

    public ObjectEnumerator EnumerateObject() =>
        ValueKind == JsonValueKind.Object ? new ObjectEnumerator(tape, index) : throw new InvalidOperationException($"expected an object, got {ValueKind}");

    /// <summary>A property of an object: its name and value.</summary>
    public readonly struct Property(JsonNode name, JsonNode value)
    {
        public string Name => name.GetString()!;

        public JsonNode Value => value;
    }

    /// <summary>The items of an array.</summary>
    public struct ArrayEnumerator(JsonTape tape, int array)
    {
        private readonly int _end = tape.End(array);
        private int _next = array + 1;
        private int _current = -1;

        public readonly JsonNode Current => new(tape, _current);

        public readonly ArrayEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_next >= _end)
            {
                return false;
            }

            _current = _next;
            _next = tape.End(_next);
            return true;
        }
    }

    /// <summary>The properties of an object, in message order.</summary>
    public struct ObjectEnumerator(JsonTape tape, int obj)
    {
        private readonly int _end = tape.End(obj);
        private int _next = obj + 1;
        private int _current = -1;

        public readonly Property Current => new(new JsonNode(tape, _current), new JsonNode(tape, _current + 1));

        public readonly ObjectEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_next >= _end)
            {
                return false;
            }

            _current = _next;
            _next = tape.End(_next + 1);
            return true;
        }
    }
}
