-- stg_customers (temp table): one row per valid customer of the current customer files
-- (valid_customers, as validation typed them), as the models read it: the tax rate an exact
-- decimal. In file order.
create or replace temp table stg_customers as
select customer_id, name, aliases, currency, rounding_increment_minutes, rounding_mode,
       minimum_entry_minutes, requires_authorization, invoice_cadence,
       tax_rate_percent::decimal(12,6) as tax_rate_percent,
       street, city, postal_code, country, vat_id, company_id, email, endpoint, buyer_reference,
       language, tax_category, tax_exemption_reason
from valid_customers
