namespace Curvature.Demo.Data.Idx;

/// <summary>What is wrong with an IDX file that could not be read.</summary>
public enum IdxFileProblem
{
    /// <summary>The file (or its directory) does not exist.</summary>
    Missing,

    /// <summary>The file exists but could not be opened or read (permissions, I/O error).</summary>
    Unreadable,

    /// <summary>The file is not a well-formed IDX file: bad magic number, truncated, trailing bytes,
    /// impossible dimensions, broken gzip stream, or values out of range for the data set.</summary>
    Corrupt,

    /// <summary>The file is well-formed but not what the caller asked for (element type, rank or dimensions).</summary>
    Unexpected,
}
