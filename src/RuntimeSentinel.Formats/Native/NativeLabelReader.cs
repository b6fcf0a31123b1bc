using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats.Native;

/// <summary>
/// Reads label objects (<c>labels</c>, <c>workload.labels</c>): string values only, bounded in count and size. Each
/// distinct object is parsed once and interned by its bytes; a rejected one is cached as a marker, so the same bad
/// bytes are rejected again (parsed again only to recover the message). Not thread-safe (one per decoder).
/// </summary>
internal sealed class NativeLabelReader(Utf8StringCache strings, EventDecoderOptions options)
{
    // Cached for label objects that were rejected, so the same bad bytes are rejected again on a cache hit.
    private static readonly LabelSet InvalidLabels = new([]);

    private static readonly Utf8Factory<NativeLabelReader, LabelSet> LabelFactory = static (utf8, self) => self.ParseLabelObject(utf8);

    private readonly Utf8InternCache<LabelSet> _labels = new(1024, 8192);
    private string? _labelError;

    /// <summary>A label object (the reader at its value), interned by its raw bytes; a rejection names <paramref name="field"/>.</summary>
    public bool ReadLabels(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, string field, out LabelSet labels, out DecodeError error)
    {
        labels = LabelSet.Empty;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = NativeErrors.WrongType(field, "object of strings", reader.TokenType);
            return false;
        }

        // Intern by the object's raw bytes: one pod sends the same label object on every event.
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var raw = utf8[start..((int)reader.TokenStartIndex + 1)];
        _labelError = null;
        labels = _labels.GetOrAdd(raw, this, LabelFactory);
        if (ReferenceEquals(labels, InvalidLabels))
        {
            if (_labelError is null)
            {
                // Cached rejection: parse again only to recover the message (rejections are the rare path).
                ParseLabelObject(raw);
            }

            var message = _labelError ?? "invalid labels";
            error = new DecodeError(message.StartsWith("too many", StringComparison.Ordinal) ? DecodeErrorCode.FieldTooLarge : DecodeErrorCode.WrongType, field, message);
            labels = LabelSet.Empty;
            return false;
        }

        error = default;
        return true;
    }

    private LabelSet ParseLabelObject(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw);
        reader.Read();
        List<KeyValuePair<string, string>>? items = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.ValueIsEscaped ? reader.GetString()! : strings.Get(reader.ValueSpan);
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                _labelError = $"value of '{NativeErrors.Truncate(key)}' must be a string, got {NativeErrors.Describe(reader.TokenType)}";
                return InvalidLabels;
            }

            if (reader.ValueSpan.Length > options.MaxStringBytes || key.Length > 317)
            {
                _labelError = $"too many bytes in label '{NativeErrors.Truncate(key)}'";
                return InvalidLabels;
            }

            items ??= [];
            if (items.Count >= options.MaxLabels)
            {
                _labelError = $"too many labels (limit {options.MaxLabels})";
                return InvalidLabels;
            }

            var value = reader.ValueIsEscaped ? reader.GetString()! : strings.Get(reader.ValueSpan);
            if (ReferenceEquals(key, Utf8StringCache.InvalidUtf8) || ReferenceEquals(value, Utf8StringCache.InvalidUtf8))
            {
                _labelError = "label is not valid UTF-8";
                return InvalidLabels;
            }

            items.Add(KeyValuePair.Create(key, value));
        }

        return items is null ? LabelSet.Empty : new LabelSet(items.ToArray());
    }
}
