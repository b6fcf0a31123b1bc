using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Native;

/// <summary>The wording of the native decoder's rejections: one phrasing for every field, and values cut to a readable length.</summary>
internal static class NativeErrors
{
    public static DecodeError WrongType(string field, string expected, JsonTokenType got) =>
        new(DecodeErrorCode.WrongType, field, $"expected {expected}, got {Describe(got)}");

    public static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.None => "nothing",
        _ => t.ToString(),
    };

    public static string Truncate(string? s) => s is null ? "" : s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 61), "...");

    public static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message.TrimEnd('.');
    }
}
