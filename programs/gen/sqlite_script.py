# Input generator of the sqlite3 program: an SQL script that creates two
# tables, inserts SCALE x 10000 generated rows in transactions, builds
# indexes, and runs joins, group-bys, sorts, LIKE scans, an update and a
# delete. Deterministic: the same SCALE always writes the same script.
# Usage: sqlite_script.py SCALE OUT.sql
import random
import sys

scale, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(12)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 12)))
         for _ in range(2000)]
n_customers = 1000 * scale
n_orders = 10000 * scale

with open(out, "w") as f:
    w = f.write
    w("PRAGMA cache_size = -16000;\n")
    w("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, city TEXT, note TEXT);\n")
    w("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, item TEXT, qty INTEGER,"
      " price REAL, comment TEXT);\n")
    w("BEGIN;\n")
    for i in range(n_customers):
        name = " ".join(rng.choice(words) for _ in range(2))
        note = " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        w("INSERT INTO customer VALUES (%d, '%s', '%s', '%s');\n"
          % (i, name, rng.choice(words[:50]), note))
    w("COMMIT;\nBEGIN;\n")
    for i in range(n_orders):
        comment = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        w("INSERT INTO orders VALUES (%d, %d, '%s', %d, %.2f, '%s');\n"
          % (i, rng.randrange(n_customers), rng.choice(words[:400]), rng.randint(1, 20),
             rng.uniform(1, 500), comment))
    w("COMMIT;\n")
    w("CREATE INDEX orders_customer ON orders(customer);\n")
    w("CREATE INDEX orders_item ON orders(item, qty);\n")
    w("CREATE INDEX customer_city ON customer(city, name);\n")
    w("SELECT c.city, count(*), round(sum(o.qty * o.price), 2) FROM orders o"
      " JOIN customer c ON c.id = o.customer GROUP BY c.city ORDER BY 3 DESC LIMIT 10;\n")
    w("SELECT item, sum(qty), count(DISTINCT customer) FROM orders GROUP BY item"
      " ORDER BY 2 DESC, 1 LIMIT 10;\n")
    w("SELECT count(*) FROM customer WHERE note LIKE '%%%s%%';\n" % words[7][:3])
    w("SELECT group_concat(name, ';') FROM (SELECT name FROM customer ORDER BY note, id"
      " LIMIT 50);\n")
    w("UPDATE orders SET comment = comment || ' ' || item WHERE qty > 10;\n")
    w("DELETE FROM orders WHERE price < 50;\n")
    w("SELECT count(*), round(avg(length(comment)), 3) FROM orders;\n")
    w("SELECT customer, count(*) AS n FROM orders GROUP BY customer ORDER BY n DESC, customer"
      " LIMIT 5;\n")
    w("CREATE TABLE summary AS SELECT customer, group_concat(item) AS items FROM orders"
      " GROUP BY customer;\n")
    w("SELECT count(*), max(length(items)) FROM summary;\n")
