using System.Text;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// Turns concrete file paths into the shape a baseline should learn: process ids, numbers, hex ids, UUIDs and
/// random-looking tokens become placeholders, so <c>/proc/4711/stat</c> and <c>/proc/42/stat</c> are one path and
/// <c>/tmp/upload-8f3a2c9d.tmp</c> is <c>/tmp/upload-{hex}.tmp</c>. Also collapses <c>//</c> and drops <c>.</c> segments.
/// <para>
/// The kubelet writes ConfigMap, Secret, downward-API and projected volumes (service-account tokens) with its atomic
/// writer: the files live in a directory named <c>..&lt;UTC time&gt;.&lt;random number&gt;</c>, reached through the
/// <c>..data</c> symlink, and a refresh writes a new directory and swaps the link (tokens about hourly). A sensor that
/// resolves paths reports whichever directory was current, so both components are dropped: the token is
/// <c>/var/run/secrets/kubernetes.io/serviceaccount/token</c> however it was reached and after any refresh.
/// </para>
/// </summary>
public static class PathNormalizer
{
    public const int MaxSegments = 32;

    public static string Normalize(string path)
    {
        if (path.Length == 0)
        {
            return path;
        }

        if (!NeedsWork(path))
        {
            return path;
        }

        var sb = new StringBuilder(path.Length);
        var segments = 0;
        foreach (var range in path.AsSpan().Split('/'))
        {
            var seg = path.AsSpan(range);
            if (seg.Length == 0 || seg is "." || IsAtomicWriterDirectory(seg))
            {
                continue;
            }

            if (++segments > MaxSegments)
            {
                // Deep trees are attacker-controlled; beyond this depth the rest carries no extra behaviour.
                sb.Append("/{deep}");
                break;
            }

            sb.Append('/');
            AppendSegment(sb, seg);
        }

        if (sb.Length == 0)
        {
            sb.Append('/');
        }

        return sb.ToString();
    }

    /// <summary>
    /// The kubelet's atomic-writer directories: <c>..data</c> and <c>..2026_11_30_01_23_45.1234567890</c> (Go's
    /// <c>os.MkdirTemp</c> with the pattern <c>..2006_01_02_15_04_05.</c>: the time, then a random number of 1-10 digits).
    /// </summary>
    internal static bool IsAtomicWriterDirectory(ReadOnlySpan<char> seg)
    {
        if (seg is "..data")
        {
            return true;
        }

        // "..YYYY_MM_DD_HH_MM_SS." is 22 characters, then at least one digit.
        if (seg.Length < 23 || seg.Length > 40 || !seg.StartsWith("..") || seg[21] != '.')
        {
            return false;
        }

        for (var i = 2; i < seg.Length; i++)
        {
            var separator = i is 6 or 9 or 12 or 15 or 18;
            if (separator ? seg[i] != '_' : i != 21 && !char.IsAsciiDigit(seg[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool NeedsWork(string path)
    {
        if (path.Contains("/..", StringComparison.Ordinal))
        {
            return true;
        }

        if (path.Contains("//", StringComparison.Ordinal) || path.Contains("/./", StringComparison.Ordinal) || path.EndsWith("/.", StringComparison.Ordinal))
        {
            return true;
        }

        // Any digit may be part of a number or id; paths without digits are already in normal form.
        return path.AsSpan().IndexOfAnyInRange('0', '9') >= 0;
    }

    private static void AppendSegment(StringBuilder sb, ReadOnlySpan<char> seg)
    {
        if (IsUuid(seg))
        {
            sb.Append("{uuid}");
            return;
        }

        // A UUID inside a segment (a pod's uid in /var/log/pods/<ns>_<pod>_<uid>): one placeholder, not five groups that
        // normalise differently as their digits and letters fall.
        for (var i = 0; i + 36 <= seg.Length; i++)
        {
            if ((i == 0 || !char.IsAsciiLetterOrDigit(seg[i - 1])) && (i + 36 == seg.Length || !char.IsAsciiLetterOrDigit(seg[i + 36])) && IsUuid(seg.Slice(i, 36)))
            {
                AppendSegment(sb, seg[..i]);
                sb.Append("{uuid}");
                AppendSegment(sb, seg[(i + 36)..]);
                return;
            }
        }

        var start = 0;
        for (var i = 0; i <= seg.Length; i++)
        {
            if (i < seg.Length && !IsSeparator(seg[i]))
            {
                continue;
            }

            AppendToken(sb, seg[start..i]);
            if (i < seg.Length)
            {
                sb.Append(seg[i]);
            }

            start = i + 1;
        }
    }

    private static void AppendToken(StringBuilder sb, ReadOnlySpan<char> token)
    {
        if (token.IsEmpty)
        {
            return;
        }

        var digits = 0;
        var letters = 0;
        var hexOnly = true;
        var transitions = 0;
        for (var i = 1; i < token.Length; i++)
        {
            // Generated names flip between lower and upper case and between letters and digits far more than words do.
            var (a, b) = (token[i - 1], token[i]);
            if ((char.IsAsciiLetterLower(a) && char.IsAsciiLetterUpper(b)) || (char.IsAsciiLetter(a) && char.IsAsciiDigit(b)) || (char.IsAsciiDigit(a) && char.IsAsciiLetter(b)))
            {
                transitions++;
            }
        }

        foreach (var c in token)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (char.IsAsciiLetter(c))
            {
                letters++;
                hexOnly &= char.IsAsciiHexDigit(c);
            }
            else
            {
                hexOnly = false;
            }
        }

        if (hexOnly && token.Length >= 8 && digits > 0)
        {
            // Long hex-looking tokens (ids, WAL segments, hashes) are one class whether or not a letter happens to occur.
            sb.Append("{hex}");
        }
        else if (hexOnly && token.Length >= 3 && digits > 0 && letters > 0)
        {
            // Short hex with both digits and letters: cache fan-out directories (/cache/1e8d/f148/), UUID groups. A word
            // has no digits, a number no letters: both stay.
            sb.Append("{hex}");
        }
        else if (token.Length == 5 && digits > 0 && letters > 0 && IsKubernetesSuffix(token))
        {
            // The random suffix Kubernetes gives pods and jobs (5 characters of an alphabet without vowels and look-alikes):
            // a log shipper's /var/log/pods/<ns>_<pod>_<uid>/ is one directory for every replica, past and future.
            sb.Append("{rand}");
        }
        else if (digits == token.Length)
        {
            sb.Append("{n}");
        }
        else if (digits + letters == token.Length && ((token.Length >= 6 && digits >= 2 && letters >= 2) || (token.Length >= 8 && transitions >= 3)))
        {
            // Mixed letters and digits of some length (k8s suffixes, mktemp names) are generated, not chosen.
            sb.Append("{rand}");
        }
        else
        {
            sb.Append(token);
        }
    }

    private static bool IsKubernetesSuffix(ReadOnlySpan<char> token)
    {
        // k8s.io/apimachinery's rand.String alphabet: "bcdfghjklmnpqrstvwxz2456789".
        foreach (var c in token)
        {
            if (!("bcdfghjklmnpqrstvwxz2456789".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsSeparator(char c) => c is '-' or '_' or '.' or ':' or '+' or '=' or ',' or '@';

    private static bool IsUuid(ReadOnlySpan<char> s)
    {
        if (s.Length != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        {
            return false;
        }

        foreach (var c in s)
        {
            if (c != '-' && !char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
