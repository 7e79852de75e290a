-- log_customers: one row per customer (of stg_customers) whose prepaid log a run writes, with
-- the log's language ('en' when customers.csv gives none). The caller selects the customers
-- (all, or the ids of `prepaid report`) and orders them.
select customer_id, name, currency, coalesce(language, 'en') as language
from stg_customers
