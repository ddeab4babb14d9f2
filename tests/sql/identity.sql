CREATE STREAM demo (color STRING, size BIGINT, ts BIGINT) WITH (DATASOURCE="demo", FORMAT="json", KEY="ts")
CREATE STREAM all_types (a BIGINT, b FLOAT, c STRING, d DATETIME, e BOOLEAN, f BYTEA) WITH (DATASOURCE="topic/a", TYPE="mqtt")
CREATE STREAM arrays (a ARRAY(BIGINT), b ARRAY(STRUCT(x FLOAT, y STRING)), c ARRAY(ARRAY(STRING)), d ARRAY(BYTEA)) WITH (DATASOURCE="arr")
CREATE STREAM nested (s STRUCT(a BIGINT, b STRUCT(c BOOLEAN, d ARRAY(DATETIME))), t STRUCT()) WITH (DATASOURCE="n")
CREATE STREAM defaults (a BIGINT DEFAULT 1, b FLOAT DEFAULT -1.5, c STRING DEFAULT "x", d BOOLEAN DEFAULT true, e BIGINT DEFAULT -3, f FLOAT DEFAULT 2) WITH (DATASOURCE="d", STRICT_VALIDATION="true")
CREATE STREAM single_default (s STRING DEFAULT 'single') WITH (DATASOURCE="d")
CREATE STREAM binary_stream () WITH (DATASOURCE="img", FORMAT="binary")
CREATE STREAM binary_col (image BYTEA) WITH (DATASOURCE="img", FORMAT="binary")
CREATE STREAM opts () WITH (DATASOURCE="s", TYPE="file", FORMAT="delimited", DELIMITER=",", CONF_KEY="c", SCHEMAID="a.b", EXTRA="{\"a\":1}", TIMESTAMP="ts", TIMESTAMP_FORMAT="yyyy-MM-dd HH:mm:ss")
CREATE STREAM bool_opts () WITH (DATASOURCE="s", SHARED=true, STRICT_VALIDATION=false, TEMP=true)
CREATE STREAM proto (a BIGINT) WITH (DATASOURCE="p", FORMAT="protobuf", SCHEMAID="schema.Message", VERSION="2")
CREATE TABLE lookup (id BIGINT, name STRING) WITH (DATASOURCE="tbl", TYPE="sql", KIND="lookup", KEY="id")
CREATE TABLE scan () WITH (DATASOURCE="lookup.json", TYPE="file", RETAIN_SIZE="9999")
CREATE TABLE mem (k STRING, v FLOAT) WITH (DATASOURCE="topic", TYPE="memory", KIND="lookup", KEY="k")
CREATE STREAM `my stream` (`from` STRING, `a.b` BIGINT, `select` FLOAT, `limit` BOOLEAN) WITH (DATASOURCE="x")
CREATE STREAM no_options (a BIGINT) WITH ()
DROP STREAM demo
DROP TABLE lookup
DROP STREAM `my stream`
SHOW STREAMS
SHOW TABLES
DESCRIBE STREAM demo
DESCRIBE TABLE lookup
EXPLAIN STREAM demo
EXPLAIN TABLE lookup
SELECT * FROM demo
SELECT demo.* FROM demo
SELECT * EXCEPT(a) FROM demo
SELECT * EXCEPT(a, b, `from`) FROM demo
SELECT * REPLACE(a + 1 AS a) FROM demo
SELECT * REPLACE(a + 1 AS a, upper(b) AS b) FROM demo
SELECT * EXCEPT(ts) REPLACE(size * 2 AS size, "x" AS color) FROM demo
SELECT *, size + 1 AS next FROM demo
SELECT demo.*, demo1.temp FROM demo INNER JOIN demo1 ON demo.ts = demo1.ts GROUP BY TUMBLINGWINDOW(ss, 10)
SELECT a FROM demo
SELECT a, b, c FROM demo
SELECT a AS b FROM demo
SELECT a INVISIBLE FROM demo
SELECT a AS b INVISIBLE, b + 1 AS c FROM demo
SELECT `from`, `a b`, `a.b.c`, `中文`, `limit`, `ss` FROM demo
SELECT a AS `select`, b AS `group by` FROM demo
SELECT d.a FROM demo AS d
SELECT d.a, e.b FROM demo AS d INNER JOIN other AS e ON d.id = e.id
SELECT a FROM `my stream`
SELECT `my stream`.a FROM `my stream`
SELECT a FROM demo WHERE a > 1
SELECT a FROM demo WHERE a > 1 LIMIT 10
SELECT a FROM demo LIMIT 0
SELECT a FROM demo ORDER BY a
SELECT a FROM demo ORDER BY a ASC
SELECT a FROM demo ORDER BY a DESC
SELECT a FROM demo ORDER BY a ASC, b DESC, c
SELECT a, count(*) AS c FROM demo GROUP BY a, TUMBLINGWINDOW(ss, 1) HAVING c > 1 ORDER BY c DESC LIMIT 3
SELECT * FROM a JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a INNER JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a LEFT JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a LEFT OUTER JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a RIGHT JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a RIGHT OUTER JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a FULL JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a FULL OUTER JOIN b ON a.id = b.id GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a CROSS JOIN b GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM a INNER JOIN b ON a.id = b.id
SELECT * FROM a JOIN b GROUP BY COUNTWINDOW(2)
SELECT x.v, y.v, z.v FROM a AS x LEFT JOIN b AS y ON x.id = y.id RIGHT JOIN c AS z ON y.id = z.id AND z.v > 1 GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT * FROM demo INNER JOIN lookup ON demo.id = lookup.id AND lookup.kind IN ("a", "b") WHERE demo.size > 1
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(ss, 10)
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(dd, 1)
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(hh, 1)
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(mi, 5)
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(ms, 500)
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(SS, 1)
SELECT count(*) FROM demo GROUP BY TumblingWindow(Ss, 1)
SELECT count(*) FROM demo GROUP BY tumblingwindow(ss, 1) FILTER (WHERE size > 1)
SELECT count(*) FROM demo GROUP BY HOPPINGWINDOW(mi, 10, 5)
SELECT count(*) FROM demo GROUP BY HOPPINGWINDOW(ss, 10, 5) FILTER (WHERE color = "red")
SELECT count(*) FROM demo GROUP BY SLIDINGWINDOW(ss, 10)
SELECT count(*) FROM demo GROUP BY SLIDINGWINDOW(ss, 10, 2)
SELECT count(*) FROM demo GROUP BY SLIDINGWINDOW(ms, 500) OVER (WHEN size > 1)
SELECT count(*) FROM demo GROUP BY SLIDINGWINDOW(ss, 1) FILTER (WHERE a > 1) OVER (WHEN b = 1)
SELECT count(*) FROM demo GROUP BY SESSIONWINDOW(hh, 1, 10)
SELECT count(*) FROM demo GROUP BY SESSIONWINDOW(mi, 10, 1) FILTER (WHERE a > 0)
SELECT count(*) FROM demo GROUP BY COUNTWINDOW(5)
SELECT count(*) FROM demo GROUP BY COUNTWINDOW(5, 2)
SELECT count(*) FROM demo GROUP BY COUNTWINDOW(3) FILTER (WHERE color = "red")
SELECT count(*) FROM demo GROUP BY STATEWINDOW(a > 1)
SELECT count(*) FROM demo GROUP BY STATEWINDOW(a > 1, b < 1)
SELECT count(*) FROM demo GROUP BY STATEWINDOW(had_changed(true, a)) OVER (PARTITION BY b)
SELECT count(*) FROM demo GROUP BY STATEWINDOW(a = 1, a = 2) OVER (PARTITION BY dev, zone)
SELECT count(*) FROM demo GROUP BY STATEWINDOW(a = 1) FILTER (WHERE b > 0) OVER (PARTITION BY dev WHEN c)
SELECT color, count(*) FROM demo GROUP BY color, TUMBLINGWINDOW(ss, 1)
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1), color, size % 2
SELECT count(*) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1) HAVING count(*) > 2 AND avg(size) < 10
SELECT a + b * c FROM demo
SELECT (a + b) * c FROM demo
SELECT a * (b + c) FROM demo
SELECT a - b - c FROM demo
SELECT a - (b - c) FROM demo
SELECT a / b % c FROM demo
SELECT a / (b % c) FROM demo
SELECT a & b | c ^ d FROM demo
SELECT a | b & c FROM demo
SELECT (a | b) & c FROM demo
SELECT a * b[0] FROM demo
SELECT a * (b[0]) FROM demo
SELECT a + b[0] FROM demo
SELECT a + b->c FROM demo
SELECT a * b->c FROM demo
SELECT -a FROM demo
SELECT -a[0] FROM demo
SELECT -1, -1.5, - -1, -(a + b), -f(x) FROM demo
SELECT a - -1, a * -b, a + -2.5 FROM demo
SELECT 1.5e3, .5, 0.25, 1e-3, 2E+5, 1.0 FROM demo
SELECT 9223372036854775807, -9223372036854775808 FROM demo
SELECT true, false, true = false FROM demo
SELECT "double", 'single', "esc\"aped", 'it\'s', "tab\tnew\nline", "back\\slash", "" FROM demo
SELECT "it's", 'say "hi"', "\x01" FROM demo
SELECT a FROM demo WHERE a = 1 AND b != 2 OR c < 3 AND d <= 4 OR e > 5 AND f >= 6
SELECT a FROM demo WHERE (a OR b) AND c
SELECT a FROM demo WHERE a OR b AND c
SELECT a FROM demo WHERE a AND (b OR c)
SELECT a FROM demo WHERE NOT a
SELECT a FROM demo WHERE NOT a = 1 AND b
SELECT a FROM demo WHERE a AND NOT b OR NOT NOT c
SELECT a FROM demo WHERE NOT (a OR b)
SELECT a FROM demo WHERE NOT a IN (1, 2)
SELECT a FROM demo WHERE (NOT a) = false
SELECT a = b = c, a < b > c FROM demo
SELECT a FROM demo WHERE a + 1 > b * 2
SELECT a FROM demo WHERE (a > 1) = true
SELECT a FROM demo WHERE a IN (1, 2, 3)
SELECT a FROM demo WHERE a NOT IN ("x", "y")
SELECT a FROM demo WHERE a IN arr
SELECT a FROM demo WHERE a NOT IN b->list
SELECT a FROM demo WHERE a IN (1) AND b
SELECT a FROM demo WHERE a + 1 IN (2, 3)
SELECT a FROM demo WHERE a IN (b + 1, c * 2, f(d))
SELECT a FROM demo WHERE a IN arr = true
SELECT a FROM demo WHERE a BETWEEN 1 AND 10
SELECT a FROM demo WHERE a NOT BETWEEN b + 1 AND c * 2
SELECT a FROM demo WHERE a BETWEEN 1 AND 2 AND b
SELECT a FROM demo WHERE a BETWEEN 1 AND 2 OR c
SELECT a FROM demo WHERE a BETWEEN -1 AND 1.5
SELECT a FROM demo WHERE a LIKE "abc%"
SELECT a FROM demo WHERE a NOT LIKE "_x\\%"
SELECT a FROM demo WHERE a LIKE b
SELECT a FROM demo WHERE a LIKE concat("%", b, "%") AND c NOT LIKE 'z_'
SELECT CASE a WHEN 1 THEN "one" WHEN 2 THEN "two" ELSE "many" END FROM demo
SELECT CASE WHEN a > 1 THEN 1 ELSE 0 END AS flag FROM demo
SELECT CASE WHEN a > 1 THEN CASE b WHEN 1 THEN "x" END ELSE "y" END FROM demo
SELECT CASE WHEN a IN (1, 2) THEN b->c WHEN a BETWEEN 3 AND 4 THEN b[0] END FROM demo
SELECT CASE a + 1 WHEN b * 2 THEN NOT c END FROM demo
SELECT CASE WHEN a THEN 1 END->x FROM demo
SELECT a->b->c FROM demo
SELECT a->b[0] FROM demo
SELECT a[0] FROM demo
SELECT a[-1] FROM demo
SELECT a[x + 1] FROM demo
SELECT a[1:2] FROM demo
SELECT a[:2] FROM demo
SELECT a[1:] FROM demo
SELECT a[:] FROM demo
SELECT a[-2:-1] FROM demo
SELECT a[0:n - 1] FROM demo
SELECT a->b[:4] FROM demo
SELECT a[0][1], a[0][1:] FROM demo
SELECT a->`b c`, a->`from` FROM demo
SELECT demo.a->b FROM demo
SELECT ops->functionA->numArgs FROM demo
SELECT followers->Group1[:1]->first FROM demo
SELECT collect(*)[0]->color FROM demo GROUP BY COUNTWINDOW(2)
SELECT f(x)->k, f(x)[0], (a + b)[0], (a)->b FROM demo
SELECT meta(topic) FROM demo
SELECT meta(demo.topic) FROM demo
SELECT meta(*) FROM demo
SELECT meta(src.reading.device.name) FROM demo
SELECT meta(topic)->x, meta(`a b`) FROM demo
SELECT mqtt(topic), mqtt(messageid) FROM demo
SELECT a FROM demo WHERE meta(topic) = "mock" AND mqtt(qos) > 0
SELECT count(*), collect(*), changed_col(true, *), had_changed(true, *) FROM demo
SELECT count(demo.*) FROM demo
SELECT f(), g(1), h(1, "2", true, 3.5, a, b + c) FROM demo
SELECT f(g(h(1)), k(2)) FROM demo
SELECT `my func`(a), `select`(b) FROM demo
SELECT lag(a) OVER (PARTITION BY b) FROM demo
SELECT lag(a, 1, 0) OVER (PARTITION BY b, c WHEN d > 1) FROM demo
SELECT latest(a) OVER (WHEN b) FROM demo
SELECT acc_sum(a) OVER (WHEN b = "x") AS s, acc_avg(a, c > 1, d < 0) FROM demo
SELECT count(*) FILTER (WHERE a > 1) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT sum(a) FILTER (WHERE b) OVER (PARTITION BY c) FROM demo
SELECT changed_cols("c_", true, a, b, *) FROM demo
SELECT deduplicate(color, true) FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT unnest(a) AS x FROM demo
SELECT row_number() FROM demo GROUP BY COUNTWINDOW(3)
SELECT window_start(), window_end(), event_time() FROM demo GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT a FROM demo WHERE last_hit_count() < 2 AND ts - last_hit_time() > 1000
SELECT a FROM demo WHERE a->b->c = 1 AND a[0] IN (1, 2) OR a[1:2] = b[:1]
SELECT a FROM demo WHERE f(a) BETWEEN g(1) AND g(2)
SELECT a FROM demo WHERE a = 1 = true
SELECT a FROM demo WHERE (((a)))
SELECT a FROM demo WHERE a ^ b = c | d
SELECT a FROM demo WHERE a % 2 = 0 AND b / 3 != 1
SELECT a FROM demo WHERE a & 1 = 1 OR a | 2 = 3
SELECT a FROM demo WHERE NOT a LIKE "x" AND NOT b BETWEEN 1 AND 2
SELECT a FROM demo WHERE a = -1 OR b = -0.5
SELECT changed_cols("", true, a, b, c) FROM test
CREATE STREAM test () WITH (DATASOURCE="test", TYPE="mock", FORMAT="json")
SELECT abs(a) AS a FROM test
SELECT acos(1) AS a FROM test
SELECT asin(1) AS a FROM test
SELECT atan(1) AS a FROM test
SELECT atan2(1, 1) AS a FROM test
SELECT bitand(1, 1) AS a FROM test
SELECT bitor(1, 1) AS a FROM test
SELECT bitxor(1, 1) AS a FROM test
SELECT ceil(1.6) AS a FROM test
SELECT cos(0) AS a FROM test
SELECT exp(1.2) AS a FROM test
SELECT log(10) AS a FROM test
SELECT sinh(0) AS a FROM test
SELECT sqrt(4) AS a FROM test
SELECT tan(0) AS a FROM test
SELECT tanh(1) AS a FROM test
SELECT cast(1.2, "bigint") AS a FROM test
SELECT cast(5, "bigint") AS a FROM test
SELECT cast(1.2, "string") AS a FROM test
SELECT cast("true", "boolean") AS a FROM test
SELECT cast(0.0, "boolean") AS a FROM test
SELECT encode("hello", "base64") AS a FROM test
SELECT trunc(3.1415, 2) AS a FROM test
SELECT trunc(3, 2) AS a FROM test
SELECT changed_col(true, *) FROM test
SELECT lag(a, 2, "a10") AS a FROM test
SELECT md5(d) AS a FROM test
SELECT cardinality(arr) AS r FROM test
SELECT isNull(arr) AS r FROM test
SELECT "value" FROM test
SELECT 5 FROM test
SELECT a, "value" AS b FROM test
SELECT a->b AS ab FROM test
SELECT a[0]->b AS ab FROM test
SELECT a[2:4] AS ab FROM test
SELECT a[2:] AS ab FROM test
SELECT a[:4] AS ab FROM test
SELECT a->b[:4] AS ab FROM test
SELECT a->c->d AS f1 FROM test
SELECT a FROM test
SELECT * FROM test
SELECT 3 * 4 AS f1 FROM test
SELECT `a.b.c` FROM test
SELECT CASE a WHEN 10 THEN "true" END AS b FROM test
SELECT a->b AS ab, *, abs(f1) FROM test
SELECT * REPLACE(a->b AS a) FROM test
SELECT * EXCEPT(c) REPLACE("test" AS b, a->b AS a) FROM test
SELECT a, a + b + c AS sum INVISIBLE, b INVISIBLE FROM test
SELECT round(a) AS r FROM test
SELECT endswith(a, b) AS a FROM test
SELECT endswith(a, d) AS a FROM test
SELECT format_time(d, "yyyy-MM-dd T HH:mm:ss") AS time FROM test
SELECT indexof(a, "a") AS a FROM test
SELECT indexof(d, "a") AS a FROM test
SELECT length(a) AS a FROM test
SELECT length(c) AS a FROM test
SELECT length(d) AS a FROM test
SELECT lower(a) AS a FROM test
SELECT lower(d) AS a FROM test
SELECT ltrim(a) AS a FROM test
SELECT numbytes(a) AS a FROM test
SELECT numbytes(b) AS a FROM test
SELECT regexp_matches(a, "foo.*") AS a FROM test
SELECT regexp_matches(d, "foo.*") AS a FROM test
SELECT regexp_replace(a, "a(x*)b", "REP") AS a FROM test
SELECT regexp_replace(a, "a(x*)b", d) AS a FROM test
SELECT regexp_substr(a, "foo.*") AS a FROM test
SELECT regexp_substr(d, "foo.*") AS a FROM test
SELECT reverse(a) AS a FROM test
SELECT rpad(a, 3) AS a FROM test
SELECT rtrim(a) AS a FROM test
SELECT substring(a, 3) AS a FROM test
SELECT substring(a, 3, 5) AS a FROM test
SELECT substring(a, 3, 100) AS a FROM test
SELECT substring(a, 88, 100) AS a FROM test
SELECT substring(a, 100) AS a FROM test
SELECT substring(d, 3, 100) AS bc FROM test
SELECT endswith(a, c) AS a FROM test
SELECT endswith(d, c) AS a FROM test
SELECT trim(a) AS a FROM test
SELECT split_value(a, "/", 0) AS a FROM test1
CREATE STREAM test1 () WITH (DATASOURCE="test1", TYPE="mock", FORMAT="json")
SELECT split_value(a, "/", 1) AS a FROM test1
SELECT split_value(a, "/", 2) AS a FROM test1
SELECT split_value(d, "/", 2) AS a FROM test1
SELECT split_value(a, "/", 0) AS aa, split_value(a, "/", 3) AS b FROM test1
SELECT acc_sum(size) OVER (WHEN color = "red"), color FROM demo
CREATE STREAM demo (color STRING, size BIGINT, ts BIGINT) WITH (DATASOURCE="demo", TYPE="mock", FORMAT="json", KEY="ts")
SELECT acc_min(size) OVER (WHEN color = "red"), color FROM demo
SELECT acc_count(size) OVER (WHEN color = "red"), color FROM demo
SELECT size + 1 AS size, size + 1 AS b FROM demo
SELECT size AS a, a + 1 AS b FROM demo
SELECT a + 1 AS b, size AS a FROM demo
SELECT color FROM demoE GROUP BY SlidingWindow(ss, 1, 1) FILTER (WHERE size = 3)
CREATE STREAM demoE (color STRING, size BIGINT, ts BIGINT) WITH (DATASOURCE="demoE", TYPE="mock", FORMAT="json", KEY="ts", TIMESTAMP="ts")
SELECT size FROM demoE GROUP BY SlidingWindow(ss, 1, 4) FILTER (WHERE color = "red")
SELECT count(*), last_agg_hit_time() AS lt, last_agg_hit_count() AS lc, event_time() AS et FROM demoE GROUP BY HOPPINGWINDOW(ss, 2, 1) HAVING lc < 4
SELECT window_start() AS ws, color, window_end() AS we FROM demoE GROUP BY SlidingWindow(ss, 2) OVER (WHEN ts - last_hit_time() > 1000), color ORDER BY color
SELECT max(temp) AS m, count(color) AS c FROM demoE INNER JOIN demo1E ON demoE.ts = demo1E.ts GROUP BY SlidingWindow(ss, 1)
CREATE STREAM demo1E (temp FLOAT, hum BIGINT, ts BIGINT) WITH (DATASOURCE="demo1E", TYPE="mock", FORMAT="json", KEY="ts", TIMESTAMP="ts")
SELECT window_end(), color, window_start() FROM demoE GROUP BY HOPPINGWINDOW(ss, 2, 1)
SELECT color FROM demoE GROUP BY SlidingWindow(ss, 1) OVER (WHEN size = 3)
SELECT temp FROM demoE2 GROUP BY SLIDINGWINDOW(ss, 1, 1)
CREATE STREAM demoE2 () WITH (DATASOURCE="demoE2", TYPE="mock", FORMAT="json", KEY="ts", TIMESTAMP="ts")
SELECT temp FROM demoE2 GROUP BY SLIDINGWINDOW(ss, 1)
SELECT temp FROM demoE2 GROUP BY TUMBLINGWINDOW(ss, 1)
SELECT temp, ts FROM demoE3 GROUP BY TUMBLINGWINDOW(ss, 1)
CREATE STREAM demoE3 () WITH (DATASOURCE="demoE3", TYPE="mock", FORMAT="json", KEY="ts", TIMESTAMP="ts")
SELECT unnest(a) FROM demoArr
CREATE STREAM demoArr () WITH (DATASOURCE="demoArr", TYPE="mock", FORMAT="json", KEY="ts")
SELECT unnest(arr2) FROM demoArr WHERE x = 1
SELECT unnest(arr3) AS col FROM demoArr WHERE x = 1
SELECT unnest(arr2), x FROM demoArr WHERE x = 1
SELECT a, b FROM sharedDemo
CREATE STREAM sharedDemo () WITH (DATASOURCE="sharedDemo", TYPE="mock", FORMAT="json", SHARED="true")
SELECT b, c FROM sharedDemo
SELECT lag(size, 1, 0) AS temp INVISIBLE, temp + 1 AS b, lag(b, 1, 0), size FROM demo GROUP BY COUNTWINDOW(5)
SELECT lag(size, 1, 0) + 1 AS b, lag(b, 1, 0), size FROM demo
SELECT arr[x:y + 1] AS col1 FROM demoArr WHERE x = 1
SELECT color, ts, last_hit_count() + 1 AS lc FROM demo WHERE size > 3
SELECT size AS Int8, ts FROM demo WHERE size > 3
SELECT size AS Int8, ts FROM demoError WHERE size > 3
CREATE STREAM demoError (color STRING, size BIGINT, ts BIGINT) WITH (DATASOURCE="demoError", TYPE="mock", FORMAT="json", KEY="ts", STRICT_VALIDATION="true")
SELECT color, ts FROM demo WHERE size > 3 AND meta(topic) = "mock"
SELECT `from` FROM demo1
CREATE STREAM demo1 (temp FLOAT, hum BIGINT, `from` STRING, ts BIGINT) WITH (DATASOURCE="demo1", TYPE="mock", FORMAT="json", KEY="ts")
SELECT color, CASE WHEN size < 2 THEN "S" WHEN size < 4 THEN "M" ELSE "L" END AS s, ts FROM demo
SELECT * FROM demo INNER JOIN table1 ON demo.ts = table1.id
CREATE TABLE table1 (name STRING, size BIGINT, id BIGINT) WITH (DATASOURCE="lookup.json", FORMAT="json", CONF_KEY="test", STRICT_VALIDATION="true")
SELECT device FROM demo INNER JOIN demoTable ON demo.ts = demoTable.ts
CREATE TABLE demoTable (device STRING, ts BIGINT) WITH (DATASOURCE="demoTable", TYPE="mock", RETAIN_SIZE="3")
SELECT demo.ts AS demoTs, table1.id AS table1Id FROM table1 INNER JOIN demo ON demoTs = table1Id
SELECT color, count(*) AS c FROM demo WHERE color != "red" GROUP BY COUNTWINDOW(5), color ORDER BY c DESC
SELECT arr[x:4] AS col1 FROM demoArr WHERE x = 1
SELECT arr[1:y] AS col1 FROM demoArr WHERE x = 1
SELECT arr[1] AS col1 FROM demoArr WHERE x = 1
SELECT lag(size) AS lastSize, lag(had_changed(true, size)), size, lastSize / size AS changeRate FROM demo WHERE size > 2
SELECT color, lag(size) OVER (PARTITION BY color) AS lastSize, size, lastSize / size AS changeRate FROM demo
SELECT color, ts FROM ldemo WHERE size >= 3
CREATE STREAM ldemo () WITH (DATASOURCE="ldemo", TYPE="mock", FORMAT="json")
SELECT size * 5 FROM ldemo
SELECT size * 5 AS c FROM ldemo
SELECT *, upper(color) FROM demoE
SELECT changed_cols("tt_", true, color, size) FROM demoE
SELECT size, color FROM demo GROUP BY SlidingWindow(ss, 5) FILTER (WHERE color = "red") OVER (WHEN size = 1)
SELECT color, ts FROM demo WHERE size > 2 GROUP BY tumblingwindow(ss, 1)
SELECT color, temp, demo.ts AS ts1, demo1.ts AS ts2, demo.ts - demo1.ts AS diff FROM demo INNER JOIN demo1 ON ts1 = ts2 GROUP BY SlidingWindow(ss, 1) HAVING last_agg_hit_count() < 7
SELECT color, count(*) AS c FROM demo GROUP BY SlidingWindow(ss, 2) OVER (WHEN ts - last_hit_time() > 1000), color ORDER BY color
SELECT count(temp), window_start() AS ws, window_end(), event_time() AS et FROM sessionDemo GROUP BY SessionWindow(ss, 2, 1)
CREATE STREAM sessionDemo (temp FLOAT, hum BIGINT, ts BIGINT) WITH (DATASOURCE="sessionDemo", TYPE="mock", FORMAT="json", KEY="ts")
SELECT window_end(), event_time(), sum(temp) AS temp1, count(color) AS c, window_start() FROM demo INNER JOIN demo1 ON demo.ts = demo1.ts GROUP BY SlidingWindow(ss, 1)
SELECT color, window_end(), event_time() AS et, ts, count(*) AS c, window_start() FROM demo WHERE size > 2 GROUP BY tumblingwindow(ss, 1) HAVING c > 1
SELECT deduplicate(color, false)->color AS c FROM demo GROUP BY SlidingWindow(hh, 1)
SELECT color, name, window_start(), window_end() FROM demo INNER JOIN table1 ON demo.ts = table1.id WHERE demo.size > 2 AND table1.size > 1 GROUP BY tumblingwindow(ss, 1)
SELECT collect(size) AS allSize FROM demo GROUP BY HOPPINGWINDOW(ss, 2, 1), color ORDER BY color
SELECT color AS c FROM demo GROUP BY SlidingWindow(ss, 3600) FILTER (WHERE size = 3)
SELECT color, ts FROM ldemo WHERE size > 2 GROUP BY tumblingwindow(ss, 1)
SELECT color, temp, ts FROM ldemo INNER JOIN ldemo1 ON ldemo.ts = ldemo1.ts GROUP BY SlidingWindow(ss, 1)
CREATE STREAM ldemo1 () WITH (DATASOURCE="ldemo1", TYPE="mock", FORMAT="json")
SELECT color, size FROM ldemo GROUP BY tumblingwindow(ss, 1) ORDER BY size
SELECT size, row_number() FROM demo
SELECT size, row_number() FROM demo GROUP BY countWindow(5)
SELECT size, color FROM demoE GROUP BY HOPPINGWINDOW(ss, 3, 5)
SELECT size, color FROM demoE GROUP BY HOPPINGWINDOW(ss, 1, 2)
