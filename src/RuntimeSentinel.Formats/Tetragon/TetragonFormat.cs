using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// Tetragon's JSON export (<c>tetra getevents -o json</c>, export files): one object whose single top-level key names
/// the event (<c>process_exec</c>, <c>process_exit</c>, <c>process_kprobe</c>, and the older <c>process_connect</c>,
/// <c>process_close</c>, <c>process_listen</c>, <c>process_dns</c>; the probes <c>process_tracepoint</c>,
/// <c>process_lsm</c> and <c>process_uprobe</c>), plus <c>node_name</c> and <c>time</c>. Identity comes from
/// <c>process.pod</c>; lineage from <c>parent</c> (and <c>exec_id</c>/<c>parent_exec_id</c>, kept as labels).
/// This type is the envelope: limits, one read into a <see cref="TetragonRecord"/> by <see cref="TetragonRecordReader"/>,
/// the event from <see cref="TetragonEventMapper"/>, then the native schema's checks. Not thread-safe (one per consumer).
/// </summary>
internal sealed class TetragonFormat : IEventFormat
{
    private readonly TetragonRecordReader _reader = new();
    private readonly TetragonEventMapper _mapper = new();
    private readonly Native.EventValidator _validator = new();

    public string Name => "tetragon";

    public int MaxMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>Label on events that report state found at sensor start (an inventory), not something that happened then.</summary>
    public const string InventoryLabel = EventLabels.Inventory;

    public static bool Recognises(string topLevelKey) => Array.IndexOf(TetragonRecordReader.Types, topLevelKey) >= 0;

    /// <summary>The same check on the raw (unescaped) UTF-8 name, without decoding it (it may not be valid text).</summary>
    public static bool Recognises(ReadOnlySpan<byte> topLevelKey) => TetragonRecordReader.IndexOfType(topLevelKey) >= 0;

    public DecodeStatus Decode(ReadOnlySpan<byte> utf8, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        if (utf8.IsEmpty)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.Empty, "", "message has no bytes");
        }

        if (utf8.Length > MaxMessageBytes)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MessageTooLarge, "", $"{utf8.Length} bytes exceeds the {MaxMessageBytes}-byte limit");
        }

        var r = TetragonRecord.Unread();
        try
        {
            var reader = new Utf8JsonReader(utf8, TetragonValues.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Json.Reject(out evt, out error, out note, DecodeErrorCode.NotAnObject, "", $"expected a JSON object, got {reader.TokenType}");
            }

            _reader.Read(ref reader, utf8, ref r);
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return Json.Reject(out evt, out error, out note, DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {reader.BytesConsumed}");
            }
        }
        catch (JsonException ex)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MalformedJson, "", $"invalid JSON at byte {ex.BytePositionInLine}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            return Json.Reject(out evt, out error, out note, DecodeErrorCode.WrongType, "", ex.Message);
        }

        var status = _mapper.Map(ref r, out evt, out error, out note);
        if (status != DecodeStatus.Event)
        {
            return status;
        }

        // Whatever a sensor sent, what leaves here must be valid native schema v1 (sizes, addresses, required fields).
        return _validator.Validate(evt, out error) ? DecodeStatus.Event : Json.Reject(out evt, out error, out note, error.Code, error.Field, error.Detail);
    }
}
