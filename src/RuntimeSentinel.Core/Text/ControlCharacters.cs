using System.Globalization;
using System.Text;

namespace RuntimeSentinel.Core.Text;

/// <summary>
/// Makes text taken from events safe to print where a person reads it as text: a terminal (<c>kubectl logs</c>), a log
/// shipper that splits on newlines, a chat message, an Alertmanager annotation. A binary named with a newline and ANSI
/// escapes would otherwise forge a second log line or clear the analyst's terminal. Control characters (C0, DEL, C1) and
/// the Unicode bidirectional overrides (which reorder what is displayed) become visible escapes such as <c>\n</c>,
/// <c>\x1b</c> or <c>\u202e</c>; a backslash stays a backslash. JSON outputs need none of this: their writer escapes.
/// </summary>
public static class ControlCharacters
{
    /// <summary>The text with every control character escaped; the same instance when it has none (the common case).</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        var first = IndexOfUnsafe(text);
        if (first < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 16);
        sb.Append(text, 0, first);
        for (var i = first; i < text.Length; i++)
        {
            var c = text[i];
            if (!IsUnsafe(c))
            {
                sb.Append(c);
                continue;
            }

            sb.Append(c switch
            {
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                < '\u0100' => "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
            });
        }

        return sb.ToString();
    }

    /// <summary>True when the text holds something <see cref="Escape"/> would change.</summary>
    public static bool HasUnsafe(string? text) => text is not null && IndexOfUnsafe(text) >= 0;

    private static int IndexOfUnsafe(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (IsUnsafe(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsUnsafe(char c) =>
        c < ' ' || (c >= '\u007f' && c <= '\u009f') || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069') || c is '\u2028' or '\u2029';
}
