using System.Text;

namespace Curvature.Parameters.Internals;

/// <summary>
/// Orders strings by Unicode code point, as Python's <c>sorted()</c> orders <c>str</c> keys. Plain ordinal UTF-16
/// comparison differs from it only when a supplementary character (a surrogate pair) meets a BMP character
/// from U+E000 to U+FFFF.
/// </summary>
internal sealed class CodePointComparer : IComparer<string>
{
    public static CodePointComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            Rune.DecodeFromUtf16(x.AsSpan(i), out Rune a, out int na);
            Rune.DecodeFromUtf16(y.AsSpan(j), out Rune b, out int nb);
            int c = a.Value.CompareTo(b.Value);
            if (c != 0)
            {
                return c;
            }

            i += na;
            j += nb;
        }

        return (x.Length - i).CompareTo(y.Length - j);
    }
}
