// The multi-column btree index handle over a list of rows: Filter by a prefix of equal
// values, FilterRange with each kind of bound (strings ordinal), and the error for a prefix
// longer than the index.
using System;
using System.Collections.Generic;
using System.Linq;

namespace SpacetimeDB.Tests
{
    /// <summary>Tests of <see cref="BTreePrefixIndex{TRow}"/> and <see cref="Range{T}"/>.</summary>
    public static class IndexTests
    {
        sealed class Player
        {
            public uint Level;
            public long Score;
            public string Name;
        }

        static BTreePrefixIndex<Player> ByLevelScoreName()
        {
            var rows = new List<Player>
            {
                new Player { Level = 1, Score = 10, Name = "ann" },
                new Player { Level = 2, Score = -5, Name = "bob" },
                new Player { Level = 2, Score = 7, Name = "cy" },
                new Player { Level = 2, Score = 7, Name = "dé" },
                new Player { Level = 3, Score = 0, Name = "eve" },
            };
            return new BTreePrefixIndex<Player>(() => rows, new Func<Player, object>[] { p => p.Level, p => p.Score, p => p.Name });
        }

        static string Names(IEnumerable<Player> rows) { return string.Join(",", rows.Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal)); }

        /// <summary>Equal values on the leading columns select the rows that share them.</summary>
        [Test]
        public static void PrefixOfEqualValuesFiltersOnLeadingColumns()
        {
            var index = ByLevelScoreName();
            Assert.Equal("bob,cy,dé", Names(index.Filter(2u)), "level 2");
            Assert.Equal("cy,dé", Names(index.Filter(2u, 7L)), "level 2, score 7");
            Assert.Equal("dé", Names(index.Filter(2u, 7L, "dé")), "the whole key");
            Assert.Equal("", Names(index.Filter(4u)), "no such level");
        }

        /// <summary>A range on the column after the prefix honours each kind of bound.</summary>
        [Test]
        public static void RangeAfterPrefixHonoursEachBound()
        {
            var index = ByLevelScoreName();
            Assert.Equal("bob,cy,dé,eve", Names(index.FilterRange(new Range<uint>(Bound<uint>.Included(2), Bound<uint>.Unbounded))), "level >= 2");
            Assert.Equal("bob,cy,dé", Names(index.FilterRange(new Range<uint>(Bound<uint>.Excluded(1), Bound<uint>.Excluded(3)))), "1 < level < 3");
            Assert.Equal("bob", Names(index.FilterRange(new Range<long>(Bound<long>.Unbounded, Bound<long>.Included(0)), 2u)), "level 2, score <= 0");
            Assert.Equal("dé", Names(index.FilterRange(new Range<string>(Bound<string>.Excluded("d"), Bound<string>.Excluded("e")), 2u, 7L)), "d < name < e");
        }

        /// <summary>A prefix longer than the index is an error that says so.</summary>
        [Test]
        public static void TooLongPrefixIsANamedError()
        {
            var index = ByLevelScoreName();
            var e = Assert.Throws<ArgumentException>(() => index.Filter(1u, 1L, "a", "b"), "four values");
            Assert.True(e.Message.Contains("has 3 columns"), e.Message);
            Assert.Throws<ArgumentException>(() => index.FilterRange(new Range<int>(Bound<int>.Unbounded, Bound<int>.Unbounded), 1u, 1L, "a"), "a range after the whole key");
        }
    }
}
