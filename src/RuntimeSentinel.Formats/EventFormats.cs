using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Native;
using RuntimeSentinel.Formats.Tetragon;

namespace RuntimeSentinel.Formats;

/// <summary>Native schema v1 through the zero-allocation decoder.</summary>
internal sealed class NativeFormat(EventDecoderOptions? options = null) : IEventFormat
{
    private readonly EventDecoder _decoder = new(options);

    public string Name => "native";

    public DecodeStatus Decode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        note = null;
        return _decoder.TryDecode(utf8, out evt, out error) ? DecodeStatus.Event : DecodeStatus.Rejected;
    }
}

/// <summary>
/// Recognises the format of each message from its top-level field names (a cheap scan, no allocation) and hands
/// it to that format's decoder: <c>kind</c>+<c>ts</c> → native; <c>process_exec</c>/<c>process_kprobe</c>/… →
/// Tetragon; <c>output_fields</c> → Falco; <c>eventName</c>, or <c>name</c> with <c>workload</c>/<c>data</c> →
/// Tracee; <c>flow</c> → Hubble.
/// </summary>
internal sealed class AutoFormat : IEventFormat
{
    private readonly NativeFormat _native = new();
    private readonly TetragonFormat _tetragon = new();
    private readonly FalcoFormat _falco = new();
    private readonly TraceeFormat _tracee = new();
    private readonly HubbleFormat _hubble = new();

    public string Name => "auto";

    public DecodeStatus Decode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        var format = Detect(utf8, out var seen);
        if (format is null)
        {
            // Let the native decoder explain broken JSON precisely; otherwise say what was seen.
            if (_native.Decode(utf8, out evt, out error, out note) == DecodeStatus.Rejected && error.Code is DecodeErrorCode.MalformedJson or DecodeErrorCode.Empty or DecodeErrorCode.NotAnObject or DecodeErrorCode.MessageTooLarge)
            {
                return DecodeStatus.Rejected;
            }

            return Json.Reject(out evt, out error, out note, DecodeErrorCode.UnknownFormat, "", $"no decoder recognises a message with top-level fields [{seen}] (native, tetragon, falco, tracee, hubble)");
        }

        return format.Decode(utf8, out evt, out error, out note);
    }

    /// <summary>The format a message looks like, or null; <paramref name="seen"/> lists the top-level names when null.</summary>
    public IEventFormat? Detect(ReadOnlySpan<byte> utf8, out string seen)
    {
        seen = "";
        bool hasKind = false, hasTs = false, hasWorkload = false, hasName = false, hasTraceeBody = false, hasTimestamp = false;
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            // Allocation-free scan: the native hot path returns after two field names.
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("kind"u8)) hasKind = true;
                else if (reader.ValueTextEquals("ts"u8)) hasTs = true;
                else if (reader.ValueTextEquals("workload"u8)) hasWorkload = hasTraceeBody = true;
                else if (reader.ValueTextEquals("flow"u8) || reader.ValueTextEquals("traffic_direction"u8) || reader.ValueTextEquals("trafficDirection"u8) || reader.ValueTextEquals("verdict"u8)) return _hubble;
                else if (reader.ValueTextEquals("output_fields"u8)) return _falco;
                else if (reader.ValueTextEquals("eventName"u8)) return _tracee;
                else if (reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("id"u8)) hasName = true;
                else if (reader.ValueTextEquals("timestamp"u8)) hasTimestamp = true;
                else if (reader.ValueTextEquals("data"u8) || reader.ValueTextEquals("policies"u8) || reader.ValueTextEquals("threat"u8)) hasTraceeBody = true;
                else if (!reader.ValueIsEscaped && reader.ValueSpan.StartsWith("process_"u8) && TetragonFormat.Recognises(reader.ValueSpan)) return _tetragon;

                if (hasKind && hasTs)
                {
                    return _native;
                }

                reader.Read();
                reader.Skip();
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Decide on what was seen before the syntax error (or the name that is not valid UTF-8).
        }

        if (hasKind && hasWorkload)
        {
            return _native;
        }

        if (hasName && hasTimestamp && hasTraceeBody)
        {
            return _tracee;
        }

        if (hasKind)
        {
            return _native; // it claims to be ours; the native decoder says what is missing
        }

        seen = TopLevelNames(utf8);
        return null;
    }

    private static string TopLevelNames(ReadOnlySpan<byte> utf8)
    {
        var names = new List<string>();
        try
        {
            var reader = new Utf8JsonReader(utf8);
            reader.Read();
            while (names.Count < 12 && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // Names are echoed into logs and dead-letter headers: bounded, and never trusted to be valid text.
                var raw = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray();
                var name = System.Text.Encoding.UTF8.GetString(raw, 0, Math.Min(raw.Length, 64));
                names.Add(name.Length < raw.Length ? name + "…" : name);
                reader.Read();
                reader.Skip();
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
        }

        return string.Join(", ", names);
    }
}

/// <summary>The formats a topic, <c>convert</c> or <c>replay</c> can be configured with.</summary>
public static class EventFormats
{
    public static IReadOnlyList<string> Names { get; } = ["auto", "native", "tetragon", "falco", "tracee", "hubble"];

    public static bool IsKnown(string name) => Names.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>A new decoder instance (decoders are not thread-safe), guarded so that no input can make it throw.</summary>
    public static IEventFormat Create(string name) => new GuardedFormat(name.ToLowerInvariant() switch
    {
        "auto" => new AutoFormat(),
        "native" => new NativeFormat(),
        "tetragon" => new TetragonFormat(),
        "falco" => new FalcoFormat(),
        "tracee" => new TraceeFormat(),
        "hubble" => new HubbleFormat(),
        _ => throw new ArgumentException($"unknown format '{name}'; one of {string.Join(", ", Names)}", nameof(name)),
    });
}

/// <summary>
/// The one boundary between bytes from outside and a decoder: a message that is too large or not UTF-8 is
/// rejected before any parsing (JSON is UTF-8 by RFC 8259; every sensor writes it so), and whatever a decoder
/// throws on input nobody anticipated becomes a <c>decoder_fault</c> rejection. No message can stop a caller.
/// </summary>
internal sealed class GuardedFormat(IEventFormat inner, int maxMessageBytes = 1024 * 1024) : IEventFormat
{
    public string Name => inner.Name;

    public DecodeStatus Decode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        if (utf8.Length > maxMessageBytes)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MessageTooLarge, "", $"{utf8.Length} bytes exceeds the {maxMessageBytes}-byte limit");
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.InvalidEncoding, "", $"not valid UTF-8 at byte {FirstInvalidByte(utf8)}");
        }

        try
        {
            return inner.Decode(utf8, out evt, out error, out note);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var message = ex.Message.Length > 200 ? ex.Message[..200] + "…" : ex.Message;
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.DecoderFault, "", $"{inner.Name} decoder failed on this input ({ex.GetType().Name}: {message})");
        }
    }

    private static int FirstInvalidByte(ReadOnlySpan<byte> utf8)
    {
        var at = 0;
        while (at < utf8.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(utf8[at..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return at;
            }

            at += consumed;
        }

        return at;
    }
}
