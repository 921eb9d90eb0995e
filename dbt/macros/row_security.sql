{#
  Row-level security on the model just built, in its own transaction: meta.apply_row_security (defined by
  the platform's warehouse/access_tables.py) decides the policy from the relation's columns. Every model
  gets it from dbt_project.yml, so a table dbt dropped and made again (a --full-refresh) has its policy
  before anyone can read it. Without the function (a warehouse the platform never set up) nobody but the
  owner can read Gold anyway: the reader role is made together with it.
#}
{% macro row_security() -%}
do $$ begin
    if to_regprocedure('meta.apply_row_security(regclass)') is not null then
        perform meta.apply_row_security('{{ this }}'::regclass);
    end if;
end $$
{%- endmacro %}
