-- One view per record kind, typed, for plain SQL (psql, a BI tool):
-- amounts numeric, days date, moments timestamptz, states text, the
-- references as record numbers. Records are leadline's JSON values in
-- leadline_kv under r/KIND/...; each view reads one key range. Writes go
-- through leadline only.
CREATE FUNCTION leadline_json(v bytea) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$ SELECT convert_from(v, 'UTF8')::jsonb $$;

CREATE VIEW leadline_leads AS
SELECT (j->>'number')::bigint AS number, j->>'topic' AS topic,
       j->>'first_name' AS first_name, j->>'last_name' AS last_name,
       j->>'company' AS company, j->>'email' AS email,
       j->>'business_phone' AS business_phone, j->>'mobile_phone' AS mobile_phone,
       j->'address'->>'city' AS city, j->>'source' AS source,
       j->>'owner' AS owner, j->>'state' AS state, j->>'status' AS status,
       COALESCE(j->'closing'->>'reason', j->>'reason') AS reason,
       j->>'currency' AS currency,
       (j->>'budget')::numeric AS budget,
       (j->>'estimated_value')::numeric AS estimated_value,
       (j->>'estimated_close')::date AS estimated_close,
       (j->>'follow_up')::date AS follow_up,
       (j->>'contact')::bigint AS contact, (j->>'account')::bigint AS account,
       (j->>'opportunity')::bigint AS opportunity,
       (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/lead/'::bytea AND k < 'r/lead0'::bytea) r;

CREATE VIEW leadline_contacts AS
SELECT (j->>'number')::bigint AS number, j->>'first_name' AS first_name,
       j->>'last_name' AS last_name, j->>'email' AS email,
       j->>'business_phone' AS business_phone, j->>'mobile_phone' AS mobile_phone,
       j->>'job_title' AS job_title, (j->>'account')::bigint AS account,
       j->>'owner' AS owner, (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/contact/'::bytea AND k < 'r/contact0'::bytea) r;

CREATE VIEW leadline_accounts AS
SELECT (j->>'number')::bigint AS number, j->>'name' AS name,
       j->>'website' AS website, j->>'phone' AS phone,
       j->'address'->>'street' AS street, j->'address'->>'postal_code' AS postal_code,
       j->'address'->>'city' AS city, j->'address'->>'country' AS country,
       j->>'vat_id' AS vat_id, (j->>'primary_contact')::bigint AS primary_contact,
       j->>'owner' AS owner, (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/account/'::bytea AND k < 'r/account0'::bytea) r;

CREATE VIEW leadline_opportunities AS
SELECT (j->>'number')::bigint AS number, j->>'name' AS name,
       (j->>'account')::bigint AS account, (j->>'contact')::bigint AS contact,
       (j->>'lead')::bigint AS lead, j->>'owner' AS owner,
       j->>'state' AS state, j->>'status' AS status,
       COALESCE(j->'closing'->>'reason', j->>'reason') AS reason,
       (j->>'probability')::integer AS probability,
       j->'pricing'->>'currency' AS currency,
       (j->>'estimated_revenue')::numeric AS estimated_revenue,
       (j->>'actual_revenue')::numeric AS actual_revenue,
       (j->'pricing'->'totals'->>'pre_freight_amount')::numeric AS net_amount,
       (j->'pricing'->'totals'->>'total_tax')::numeric AS total_tax,
       (j->'pricing'->'totals'->>'total_amount')::numeric AS total_amount,
       (j->>'budget')::numeric AS budget,
       (j->>'decision_date')::date AS decision_date,
       (j->>'follow_up')::date AS follow_up,
       COALESCE((j->'closing'->>'date')::date, (j->>'date')::date) AS closed_on,
       (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/opportunity/'::bytea AND k < 'r/opportunity0'::bytea) r;

-- Every revision of every quote; is_latest marks the one in force.
CREATE VIEW leadline_quotes AS
SELECT (j->>'number')::bigint AS number, (j->>'revision')::integer AS revision,
       (j->>'revision')::integer = (
           SELECT convert_from(q.v, 'UTF8')::integer FROM leadline_kv q
           WHERE q.k = convert_to('qrev/' || lpad(j->>'number', 20, '0'), 'UTF8')
       ) AS is_latest,
       j->>'name' AS name, (j->>'opportunity')::bigint AS opportunity,
       (j->>'account')::bigint AS account, (j->>'contact')::bigint AS contact,
       j->>'owner' AS owner, j->>'state' AS state,
       j->'closing'->>'reason' AS reason,
       j->'pricing'->>'currency' AS currency,
       (j->'pricing'->'totals'->>'pre_freight_amount')::numeric AS net_amount,
       (j->'pricing'->'totals'->>'freight')::numeric AS freight,
       (j->'pricing'->'totals'->>'total_tax')::numeric AS total_tax,
       (j->'pricing'->'totals'->>'total_amount')::numeric AS total_amount,
       (j->>'valid_until')::date AS valid_until,
       (j->>'order')::bigint AS "order",
       (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/quote/'::bytea AND k < 'r/quote0'::bytea) r;

CREATE VIEW leadline_orders AS
SELECT (j->>'number')::bigint AS number, j->>'name' AS name,
       (j->>'quote')::bigint AS quote, (j->>'quote_revision')::integer AS quote_revision,
       (j->>'opportunity')::bigint AS opportunity,
       (j->>'account')::bigint AS account, (j->>'contact')::bigint AS contact,
       j->>'owner' AS owner, j->>'state' AS state,
       j->'closing'->>'reason' AS reason,
       j->'pricing'->>'currency' AS currency,
       (j->'pricing'->'totals'->>'pre_freight_amount')::numeric AS net_amount,
       (j->'pricing'->'totals'->>'freight')::numeric AS freight,
       (j->'pricing'->'totals'->>'total_tax')::numeric AS total_tax,
       (j->'pricing'->'totals'->>'total_amount')::numeric AS total_amount,
       (j->>'delivery_date')::date AS delivery_date,
       (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/order/'::bytea AND k < 'r/order0'::bytea) r;

-- Credit notes are invoices too (state credit_note, corrects names the
-- invoice they cancel; their amounts are negative).
CREATE VIEW leadline_invoices AS
SELECT (j->>'number')::bigint AS number, j->>'name' AS name,
       (j->>'order')::bigint AS "order", (j->>'opportunity')::bigint AS opportunity,
       (j->>'account')::bigint AS account, (j->>'contact')::bigint AS contact,
       j->>'owner' AS owner, j->>'state' AS state,
       j->'closing'->>'reason' AS reason,
       (j->>'corrects')::bigint AS corrects, (j->>'credit_note')::bigint AS credit_note,
       j->'pricing'->>'currency' AS currency,
       (j->'pricing'->'totals'->>'pre_freight_amount')::numeric AS net_amount,
       (j->'pricing'->'totals'->>'freight')::numeric AS freight,
       (j->'pricing'->'totals'->>'total_tax')::numeric AS total_tax,
       (j->'pricing'->'totals'->>'total_amount')::numeric AS total_amount,
       COALESCE((SELECT sum((p->>'amount')::numeric)
                 FROM jsonb_array_elements(COALESCE(j->'payments', '[]'::jsonb)) p), 0) AS paid,
       (j->>'invoice_date')::date AS invoice_date, (j->>'due_date')::date AS due_date,
       (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/invoice/'::bytea AND k < 'r/invoice0'::bytea) r;

-- Calls, mails, tasks, appointments and notes, on the record they regard.
CREATE VIEW leadline_activities AS
SELECT (j->>'number')::bigint AS number, j->'details'->>'kind' AS kind,
       j->>'subject' AS subject, j->>'owner' AS owner, j->>'state' AS state,
       j->'regarding'->>'kind' AS regarding_kind,
       (j->'regarding'->>'number')::bigint AS regarding_number,
       (j->'due'->>'day')::date AS due_day, (j->'due'->>'at')::timestamptz AS due_at,
       (j->>'created_at')::timestamptz AS created_at, j AS data
FROM (SELECT leadline_json(v) AS j FROM leadline_kv
      WHERE k >= 'r/activity/'::bytea AND k < 'r/activity0'::bytea) r;

-- The product lines of opportunities, quotes (every revision), orders and
-- invoices.
CREATE VIEW leadline_lines AS
SELECT r.kind, (r.j->>'number')::bigint AS number,
       (r.j->>'revision')::integer AS revision,
       (l->>'no')::integer AS line, l->>'sku' AS sku, l->>'description' AS description,
       (l->>'quantity')::numeric AS quantity, (l->>'unit_price')::numeric AS unit_price,
       (l->'discount'->>'percent')::numeric AS discount_percent,
       (l->'discount'->>'amount')::numeric AS discount_amount,
       (l->>'tax_rate')::numeric AS tax_rate,
       r.j->'pricing'->>'currency' AS currency
FROM (SELECT convert_from(substring(k from 3 for position('/'::bytea in substring(k from 3)) - 1), 'UTF8') AS kind,
             leadline_json(v) AS j
      FROM leadline_kv
      WHERE (k >= 'r/opportunity/'::bytea AND k < 'r/opportunity0'::bytea)
         OR (k >= 'r/quote/'::bytea AND k < 'r/quote0'::bytea)
         OR (k >= 'r/order/'::bytea AND k < 'r/order0'::bytea)
         OR (k >= 'r/invoice/'::bytea AND k < 'r/invoice0'::bytea)) r,
     jsonb_array_elements(r.j->'pricing'->'lines') l;
