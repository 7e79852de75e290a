-- record_placed: the customers' log files as this run placed them (reports._placed: written
-- from the cache, or recognised by their SHA-256 in the OUT the run replaces), from the temp
-- table _placed (customer_id, placed), into prepaid_log_cache, in the run's transaction.
update prepaid_log_cache set placed = p.placed
from _placed p
where prepaid_log_cache.customer_id = p.customer_id
