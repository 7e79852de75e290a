-- Every accepted version of the entry_ids that have more than one, in history order: the rows
-- kept.Entries compares to tell a superseded version from an identical re-export.
with accepted as (
    select file_id, source_file, line, entry_id, content from timelog_verdicts where accepted
)
select * from accepted
where entry_id in (select entry_id from accepted group by entry_id having count(*) > 1)
order by file_id, line
