// A small test runner for the SDK's unit tests on Mono: every public static method marked
// [Test] in this assembly runs once; failures print with their exception, and the last line
// is exactly "N passed, N failed". The exit code is 1 if anything failed.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace SpacetimeDB.Tests
{
    /// <summary>Marks a test method (public, static, no parameters).</summary>
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class TestAttribute : Attribute { }

    /// <summary>A failed check.</summary>
    public sealed class AssertionException : Exception
    {
        /// <summary>Creates the failure.</summary>
        public AssertionException(string message) : base(message) { }
    }

    /// <summary>Checks that throw <see cref="AssertionException"/>.</summary>
    public static class Assert
    {
        /// <summary>Fails unless <paramref name="condition"/>.</summary>
        public static void True(bool condition, string message)
        {
            if (!condition) throw new AssertionException(message);
        }

        /// <summary>Fails unless the values are equal (deep, for lists).</summary>
        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!ValueEq.Equal(expected, actual))
                throw new AssertionException(string.Format("{0}: expected {1}, got {2}", what, Show(expected), Show(actual)));
        }

        /// <summary>Fails unless <paramref name="action"/> throws a <typeparamref name="E"/>; returns it.</summary>
        public static E Throws<E>(Action action, string what) where E : Exception
        {
            try { action(); }
            catch (E e) { return e; }
            catch (Exception e) { throw new AssertionException(what + ": expected " + typeof(E).Name + ", got " + e.GetType().Name + ": " + e.Message); }
            throw new AssertionException(what + ": expected " + typeof(E).Name + ", nothing was thrown");
        }

        /// <summary>Bytes as lower-case hex.</summary>
        public static string Hex(byte[] bytes) { return string.Concat(bytes.Select(b => b.ToString("x2"))); }

        /// <summary>Lower-case hex as bytes.</summary>
        public static byte[] Unhex(string hex)
        {
            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = Convert.ToByte(hex.Substring(i * 2, 2), 16);
            return bytes;
        }

        static string Show(object v)
        {
            if (v == null) return "null";
            var bytes = v as byte[];
            if (bytes != null) return Hex(bytes);
            var list = v as System.Collections.IEnumerable;
            if (list != null && !(v is string)) return "[" + string.Join(", ", list.Cast<object>().Select(Show)) + "]";
            return v.ToString();
        }
    }

    static class Runner
    {
        static int Main(string[] args)
        {
            string filter = args.Length > 0 ? args[0] : null;
            var tests = typeof(Runner).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
                .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                .Where(m => filter == null || (m.DeclaringType.Name + "." + m.Name).Contains(filter))
                .OrderBy(m => m.DeclaringType.Name + "." + m.Name, StringComparer.Ordinal)
                .ToList();
            int passed = 0, failed = 0;
            foreach (var test in tests)
            {
                string name = test.DeclaringType.Name + "." + test.Name;
                try
                {
                    test.Invoke(null, null);
                    passed++;
                    Console.WriteLine("ok   " + name);
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    Console.WriteLine("FAIL " + name + ": " + e.InnerException);
                }
            }
            Console.WriteLine("{0} passed, {1} failed", passed, failed);
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }
}
