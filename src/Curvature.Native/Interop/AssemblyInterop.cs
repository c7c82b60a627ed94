using System.Runtime.CompilerServices;

// Every native signature in this assembly is blittable (pointers, int, nint/nuint, float/double): no runtime marshalling.
[assembly: DisableRuntimeMarshalling]
