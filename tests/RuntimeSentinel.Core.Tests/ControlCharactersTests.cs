using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Core.Tests;

public class ControlCharactersTests
{
    [Theory]
    [InlineData("/usr/bin/node", "/usr/bin/node")]
    [InlineData("a\nALERT forged line", @"a\nALERT forged line")]
    [InlineData("x\u001b[2J\u001b[Hcleared", @"x\x1b[2J\x1b[Hcleared")]
    [InlineData("tab\there\r", @"tab\there\r")]
    [InlineData("del\u007fc1\u0085", @"del\x7fc1\x85")]
    [InlineData("evil\u202egnp.exe", @"evil\u202egnp.exe")]
    [InlineData("line\u2028sep", @"line\u2028sep")]
    [InlineData(@"back\slash", @"back\slash")]
    [InlineData("ünïcödé ✓", "ünïcödé ✓")]
    public void Escape_HostileText_NoControlCharacterLeftAndTheRestUnchanged(string input, string expected)
    {
        var escaped = ControlCharacters.Escape(input);
        Assert.Equal(expected, escaped);
        Assert.False(ControlCharacters.HasUnsafe(escaped));
        Assert.DoesNotContain(escaped, c => c < ' ' || c is '\u007f' or '\u202e');
    }

    [Fact]
    public void Escape_CleanText_ReturnsTheSameInstance()
    {
        var clean = "shop/Deployment/cart: /bin/sh started by /usr/sbin/nginx";
        Assert.Same(clean, ControlCharacters.Escape(clean));
        Assert.Equal("", ControlCharacters.Escape(null));
    }
}
