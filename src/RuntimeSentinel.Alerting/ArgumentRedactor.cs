using System.Text.RegularExpressions;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>
/// Blanks secrets out of process arguments before an alert reaches any sink (a command line often carries a password
/// or token; alerts go to chat, ticketing and SIEMs). Patterns run with <see cref="RegexOptions.NonBacktracking"/>,
/// so argument strings an attacker chose cannot make them slow.
/// </summary>
internal sealed class ArgumentRedactor
{
    public const string Mask = "[REDACTED]";

    /// <summary>
    /// Built in: <c>password=…</c>, <c>--token …</c>, bearer and basic credentials, passwords in URLs, AWS access
    /// keys, and the password flags of the MySQL and Redis clients. Where a pattern has a group named <c>s</c>, only
    /// that group is masked (the key name stays, so the analyst sees what was there).
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultPatterns =
    [
        @"(?i)(pass(word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth)[=:](?<s>[^\s&]+)",
        @"(?i)\s--?(pass(word)?|token|secret|api[_-]?key|auth-token)[ =](?<s>[^\s-]\S*)",
        @"(?i)\bbearer (?<s>[A-Za-z0-9._~+/=-]+)",
        @"(?i)\bbasic (?<s>[A-Za-z0-9+/=]+)",
        @"://[^/\s:@]+:(?<s>[^@/\s]+)@",
        @"\bAKIA[0-9A-Z]{16}\b",
        @"\b(mysql|mysqldump|mariadb)\s(.*\s)?-p(?<s>\S+)",
        @"\bredis-cli\s(.*\s)?-a\s+(?<s>\S+)",
    ];

    private readonly Regex[] _patterns;

    public ArgumentRedactor(RedactionOptions options)
    {
        _patterns = (options.Defaults ? DefaultPatterns : []).Concat(options.Patterns).Select(Compile).ToArray();
    }

    public bool Enabled => _patterns.Length > 0;

    public static bool IsValidPattern(string pattern, out string problem)
    {
        try
        {
            _ = Compile(pattern);
            problem = "";
            return true;
        }
        catch (ArgumentException ex)
        {
            // Syntax errors.
            problem = ex.Message;
            return false;
        }
        catch (NotSupportedException ex)
        {
            // NonBacktracking refuses constructs it cannot run in linear time (backreferences, lookarounds).
            problem = ex.Message;
            return false;
        }
    }

    public string? Redact(string? args)
    {
        if (args is null || _patterns.Length == 0)
        {
            return args;
        }

        var result = args;
        foreach (var p in _patterns)
        {
            result = p.Replace(result, MaskSecret);
        }

        return result;
    }

    /// <summary>The alert with every evidence event's arguments redacted (the same instance when nothing changed).</summary>
    public Alert Apply(Alert alert)
    {
        if (_patterns.Length == 0)
        {
            return alert;
        }

        Core.Events.RuntimeEvent[]? changed = null;
        for (var i = 0; i < alert.Evidence.Count; i++)
        {
            var e = alert.Evidence[i];
            var redacted = Redact(e.Process.Args);
            if (!ReferenceEquals(redacted, e.Process.Args) && redacted != e.Process.Args)
            {
                changed ??= [.. alert.Evidence];
                changed[i] = e with { Process = e.Process with { Args = redacted } };
            }
        }

        return changed is null ? alert : alert with { Evidence = changed };
    }

    private static string MaskSecret(Match m)
    {
        var secret = m.Groups["s"];
        if (!secret.Success)
        {
            return Mask;
        }

        return string.Concat(m.ValueSpan[..(secret.Index - m.Index)], Mask, m.ValueSpan[(secret.Index - m.Index + secret.Length)..]);
    }

    // No match timeout: NonBacktracking already bounds a match by the input's length, and a wall-clock timeout only
    // adds a way to fail: on a busy CPU (the engine builds its states on first use) a harmless command line timed out,
    // and its alert was dropped as failed.
    private static Regex Compile(string pattern) => new(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, Regex.InfiniteMatchTimeout);
}
