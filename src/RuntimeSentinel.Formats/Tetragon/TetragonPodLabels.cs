using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats.Tetragon;

/// <summary>
/// A pod's labels as label sets: <c>pod_labels</c> (an object) or, in older exports, Cilium's identity <c>labels</c>
/// (an array of <c>k8s:key=value</c>). Cached by the value's raw bytes: a pod's labels are the same in every event it
/// sends, so each distinct list is parsed once. Not thread-safe (one per decoder).
/// </summary>
internal sealed class TetragonPodLabels(TetragonValues values)
{
    private static readonly Utf8Factory<TetragonPodLabels, LabelSet> PodLabelsFactory = static (utf8, self) => self.ParsePodLabels(utf8);
    private static readonly Utf8Factory<TetragonPodLabels, LabelSet> IdentityLabelsFactory = static (utf8, self) => ParseIdentityLabels(utf8);

    private readonly Utf8InternCache<LabelSet> _cache = new(1024, 8192);

    /// <summary><c>pod_labels</c>, the reader at its value; anything but an object is skipped and leaves <paramref name="labels"/> as it was.</summary>
    public void ReadPodLabels(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref LabelSet labels)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            labels = _cache.GetOrAdd(message[start..(int)reader.BytesConsumed], this, PodLabelsFactory);
        }
        else
        {
            reader.Skip();
        }
    }

    /// <summary>The identity <c>labels</c>, the reader at its value; anything but an array is skipped and leaves <paramref name="labels"/> as it was.</summary>
    public void ReadIdentityLabels(ref Utf8JsonReader reader, ReadOnlySpan<byte> message, ref LabelSet labels)
    {
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            labels = _cache.GetOrAdd(message[start..(int)reader.BytesConsumed], this, IdentityLabelsFactory);
        }
        else
        {
            reader.Skip();
        }
    }

    /// <summary>Cilium identity labels of a pod (<c>k8s:key=value</c>, the pod's own, at most 64), built once per distinct list.</summary>
    private static LabelSet ParseIdentityLabels(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw, TetragonValues.ReaderOptions);
        reader.Read();
        var items = new List<KeyValuePair<string, string>>();
        while (items.Count < 64 && reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var label = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            reader.Skip();
            var eq = label?.IndexOf('=') ?? -1;
            if (label is not null && label.StartsWith("k8s:", StringComparison.Ordinal) && !label.StartsWith("k8s:io.cilium.", StringComparison.Ordinal)
                && !label.StartsWith("k8s:io.kubernetes.pod.namespace", StringComparison.Ordinal) && eq > 4)
            {
                items.Add(KeyValuePair.Create(label[4..eq], label[(eq + 1)..]));
            }
        }

        return items.Count == 0 ? LabelSet.Empty : new LabelSet([.. items]);
    }

    /// <summary>A pod's labels (at most 64; values as text whatever their JSON type), built once per distinct object.</summary>
    private LabelSet ParsePodLabels(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw, TetragonValues.ReaderOptions);
        reader.Read();
        var items = new List<KeyValuePair<string, string>>();
        while (items.Count < 64 && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.ValueIsEscaped ? reader.GetString()! : values.Intern(reader.ValueSpan);
            reader.Read();
            string value;
            if (reader.TokenType == JsonTokenType.String)
            {
                value = reader.ValueIsEscaped ? reader.GetString()! : values.Intern(reader.ValueSpan);
            }
            else
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                value = System.Text.Encoding.UTF8.GetString(raw[start..(int)reader.BytesConsumed]);
            }

            items.Add(KeyValuePair.Create(key, value));
        }

        return items.Count == 0 ? LabelSet.Empty : new LabelSet([.. items]);
    }
}
