using System.Text;

namespace RuntimeSentinel.TestCommon;

/// <summary>
/// Deterministic hostile inputs built from real messages: byte flips, truncations, invalid UTF-8 in names and values,
/// deep nesting, huge numbers, wrong types, duplicate keys, empty documents, random bytes and multi-MiB messages.
/// Each input carries the name of the mutation that made it, so a failure says what kind of input broke what.
/// </summary>
public sealed class HostileInputs(int seed)
{
    private static readonly byte[][] InvalidUtf8 =
    [
        [0xC3, 0x28], // a two-byte lead followed by ASCII
        [0xFF], // never valid
        [0x80], // lone continuation byte
        [0xC0, 0xAF], // overlong '/'
        [0xED, 0xA0, 0x80], // UTF-16 surrogate encoded in UTF-8
        [0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0xE2, 0x82], // truncated three-byte sequence
    ];

    private static readonly string[] HugeNumbers =
    [
        "1e400", "-1e400", "1.7976931348623157e309", "99999999999999999999999999999999999999", "-9223372036854775809",
        "18446744073709551616", "0.000000000000000000000000000000000000000000000001e-400", "4294967296", "-1", "1E+2147483648",
    ];

    private static readonly string[] OtherValues =
    [
        "null", "true", "false", "0", "-0", "\"\"", "\"x\"", "[]", "{}", "[1,2,3]", "{\"a\":{}}", "\"1\"", "\"2026-13-45T99:99:99Z\"",
        "\"../../../../etc/passwd\"", "\"\\u0000\"", "\"\\ud800\"", "NaN", "Infinity",
    ];

    private readonly Random _random = new(seed);

    /// <summary>Names of the mutation kinds, in the order <see cref="Mutate"/> cycles through them.</summary>
    public static IReadOnlyList<string> Kinds { get; } =
    [
        "byte_flip", "truncation", "invalid_utf8_name", "invalid_utf8_value", "deep_nesting", "huge_number", "wrong_type",
        "duplicate_key", "empty", "random_bytes", "token_soup", "splice",
    ];

    /// <summary>One mutation of <paramref name="seedMessage"/>, of the kind <paramref name="kindIndex"/> selects (mod the kind count).</summary>
    public (string Kind, byte[] Bytes) Mutate(byte[] seedMessage, int kindIndex, IReadOnlyList<byte[]> others)
    {
        var kind = Kinds[kindIndex % Kinds.Count];
        var bytes = kind switch
        {
            "byte_flip" => Flip(seedMessage),
            "truncation" => seedMessage.Length == 0 ? [] : seedMessage[.._random.Next(seedMessage.Length)],
            "invalid_utf8_name" => InsertInvalid(seedMessage, inName: true),
            "invalid_utf8_value" => InsertInvalid(seedMessage, inName: false),
            "deep_nesting" => Nest(seedMessage, _random.Next(2) == 0 ? 70 : 5000),
            "huge_number" => ReplaceValue(seedMessage, HugeNumbers[_random.Next(HugeNumbers.Length)], numbersOnly: true),
            "wrong_type" => ReplaceValue(seedMessage, OtherValues[_random.Next(OtherValues.Length)], numbersOnly: false),
            "duplicate_key" => DuplicateKey(seedMessage),
            "empty" => Encoding.UTF8.GetBytes(new[] { "", " ", "{}", "[]", "null", "\"\"", "0", "\n", "{", "}", "{\"\":\"\"}", "[{}]" }[_random.Next(12)]),
            "random_bytes" => RandomBytes(_random.Next(1, 512)),
            "token_soup" => TokenSoup(),
            _ => Splice(seedMessage, others[_random.Next(others.Count)]),
        };
        return (kind, bytes);
    }

    /// <summary>A message of several MiB: a real message with one string value blown up, or a huge array.</summary>
    public byte[] Huge(byte[] seedMessage, int mebibytes)
    {
        var size = mebibytes * 1024 * 1024;
        if (_random.Next(2) == 0)
        {
            var sb = new StringBuilder(size + 64);
            sb.Append("{\"kind\":\"process_exec\",\"ts\":\"2026-12-01T00:00:00Z\",\"process\":{\"exe\":\"");
            sb.Append('A', size);
            sb.Append("\"}}");
            return Encoding.UTF8.GetBytes(sb.ToString());
        }

        var text = Encoding.UTF8.GetString(seedMessage);
        var at = text.IndexOf(":\"", StringComparison.Ordinal);
        if (at < 0)
        {
            return Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("1", size / 2)) + "]");
        }

        return Encoding.UTF8.GetBytes(string.Concat(text.AsSpan(0, at + 2), new string('x', size), text.AsSpan(at + 2)));
    }

    private byte[] Flip(byte[] m)
    {
        if (m.Length == 0)
        {
            return [(byte)_random.Next(256)];
        }

        var copy = (byte[])m.Clone();
        for (var i = _random.Next(1, 9); i > 0; i--)
        {
            copy[_random.Next(copy.Length)] ^= (byte)(1 << _random.Next(8));
        }

        return copy;
    }

    private byte[] InsertInvalid(byte[] m, bool inName)
    {
        // Inside a property name: right after a '{' or ',' followed by '"'; in a value: after ':"'.
        var positions = new List<int>();
        for (var i = 1; i < m.Length; i++)
        {
            if (m[i - 1] == (byte)'"' && (inName ? i >= 2 && (m[i - 2] is (byte)'{' or (byte)',') : i >= 2 && m[i - 2] == (byte)':'))
            {
                positions.Add(i);
            }
        }

        var bad = InvalidUtf8[_random.Next(InvalidUtf8.Length)];
        if (positions.Count == 0)
        {
            return [(byte)'{', (byte)'"', .. bad, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        }

        var at = positions[_random.Next(positions.Count)];
        return [.. m.AsSpan(0, at), .. bad, .. m.AsSpan(at)];
    }

    private byte[] Nest(byte[] m, int depth)
    {
        var open = string.Concat(Enumerable.Repeat(_random.Next(2) == 0 ? "{\"a\":" : "[", depth));
        var close = open.StartsWith('{') ? new string('}', depth) : new string(']', depth);
        var nested = open + "1" + close;
        var text = Encoding.UTF8.GetString(m);
        var at = text.IndexOf(':', StringComparison.Ordinal);
        if (at < 0 || _random.Next(4) == 0)
        {
            return Encoding.UTF8.GetBytes(nested);
        }

        // Replace the first value with the nest, keeping the rest of the real message around it.
        var end = ValueEnd(text, at + 1);
        return Encoding.UTF8.GetBytes(string.Concat(text.AsSpan(0, at + 1), nested, text.AsSpan(end)));
    }

    private byte[] ReplaceValue(byte[] m, string replacement, bool numbersOnly)
    {
        var text = Encoding.UTF8.GetString(m);
        var starts = new List<int>();
        for (var i = 0; i < text.Length - 1; i++)
        {
            if (text[i] == ':' && (!numbersOnly || char.IsAsciiDigit(text[i + 1]) || text[i + 1] == '-'))
            {
                starts.Add(i + 1);
            }
        }

        if (starts.Count == 0)
        {
            return Encoding.UTF8.GetBytes("{\"ts\":" + replacement + ",\"kind\":" + replacement + "}");
        }

        var start = starts[_random.Next(starts.Count)];
        var end = ValueEnd(text, start);
        return Encoding.UTF8.GetBytes(string.Concat(text.AsSpan(0, start), replacement, text.AsSpan(end)));
    }

    private byte[] DuplicateKey(byte[] m)
    {
        var text = Encoding.UTF8.GetString(m);
        var open = text.IndexOf('{', StringComparison.Ordinal);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (open < 0 || colon < 0 || colon < open)
        {
            return Encoding.UTF8.GetBytes("{\"kind\":\"process_exec\",\"kind\":\"syscall\"}");
        }

        var end = ValueEnd(text, colon + 1);
        var member = text[(open + 1)..end];
        return Encoding.UTF8.GetBytes(string.Concat(text.AsSpan(0, end), ",", member, text.AsSpan(end)));
    }

    private byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        _random.NextBytes(b);
        return b;
    }

    private byte[] TokenSoup()
    {
        string[] tokens = ["{", "}", "[", "]", ",", ":", "\"kind\"", "\"ts\"", "\"process_exec\"", "\"flow\"", "\"output_fields\"", "\"eventName\"", "1", "-1e999", "null", "true", "\"\\u00", "\"a\"", " ", "\"workload\"", "\"process\""];
        var sb = new StringBuilder();
        for (var i = _random.Next(1, 60); i > 0; i--)
        {
            sb.Append(tokens[_random.Next(tokens.Length)]);
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private byte[] Splice(byte[] a, byte[] b)
    {
        var cutA = a.Length == 0 ? 0 : _random.Next(a.Length);
        var cutB = b.Length == 0 ? 0 : _random.Next(b.Length);
        return [.. a.AsSpan(0, cutA), .. b.AsSpan(cutB)];
    }

    /// <summary>Where the JSON value starting at <paramref name="start"/> ends (roughly: strings and brackets are balanced).</summary>
    private static int ValueEnd(string text, int start)
    {
        var depth = 0;
        var inString = false;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                    if (depth == 0)
                    {
                        return i + 1;
                    }
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    inString = true;
                    break;
                case '{' or '[':
                    depth++;
                    break;
                case '}' or ']':
                    if (depth == 0)
                    {
                        return i;
                    }

                    depth--;
                    if (depth == 0)
                    {
                        return i + 1;
                    }

                    break;
                case ',' when depth == 0:
                    return i;
            }
        }

        return text.Length;
    }
}
