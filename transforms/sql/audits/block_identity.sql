-- Every block: purchased = used + expired + remaining, nothing negative.
select block_id, purchased_units, used_units, expired_units, remaining_units
from mart_balances
where kind <> 'unlimited'
  and (purchased_units <> used_units + expired_units + remaining_units
       or used_units < 0 or expired_units < 0 or remaining_units < 0)
